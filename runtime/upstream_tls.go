package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"
)

// clientTLSConfig builds the TLS client configuration of a DestinationRule
// tls block given by file fields, reading its files now so that a missing
// file stops the binary at start rather than failing requests.
func clientTLSConfig(t *UpstreamTLS) (*tls.Config, error) {
	var roots *x509.CertPool
	if t.CACertificates != "" {
		pem, err := os.ReadFile(t.CACertificates)
		if err != nil {
			return nil, fmt.Errorf("reading caCertificates: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caCertificates %s holds no PEM certificate", t.CACertificates)
		}
	}
	var certs []tls.Certificate
	if t.ClientCertificate != "" || t.PrivateKey != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCertificate, t.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("loading clientCertificate and privateKey: %w", err)
		}
		certs = []tls.Certificate{cert}
	}
	return clientTLSFrom(t, roots, certs), nil
}

// clientTLSFrom is the client configuration of t with its CA (nil for the
// system pool) and client certificates loaded.
func clientTLSFrom(t *UpstreamTLS, roots *x509.CertPool, certs []tls.Certificate) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.SNI, RootCAs: roots, Certificates: certs}
	switch {
	case t.InsecureSkipVerify:
		cfg.InsecureSkipVerify = true
	case len(t.SubjectAltNames) > 0:
		// The chain is verified as usual, but against the listed names
		// instead of the SNI.
		sans := t.SubjectAltNames
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifySANs(cs, roots, sans)
		}
	}
	return cfg
}

// upstreamCredFiles resolves a credentialName under dir the way the
// downstream side does: the CA in NAME/ca.crt or, Istio's convention for a
// separate CA Secret, NAME-cacert/ca.crt; for MUTUAL also NAME/tls.crt and
// NAME/tls.key. The CA is required: without it no upstream certificate
// could be verified, and Istio's cluster would never warm either.
func upstreamCredFiles(t *UpstreamTLS, dir string) (credFiles, error) {
	var f credFiles
	n := t.CredentialName
	if t.Mutual {
		f.pairs = []certKey{{inDir(dir, n, "tls.crt"), inDir(dir, n, "tls.key")}}
	}
	candidates := []credFile{inDir(dir, n, "ca.crt"), inDir(dir, n+"-cacert", "ca.crt")}
	for _, ca := range candidates {
		ok, err := ca.exists()
		if err != nil {
			return f, err
		}
		if ok {
			f.ca = ca
			return f, nil
		}
	}
	return f, fmt.Errorf("credential %s has no CA: none of %s exists", n, joinFiles(candidates))
}

// newUpstreamCredential loads the credential of a cluster's tls block; its
// config() re-reads the files when they change, as a rotated Secret does.
func newUpstreamCredential(cluster string, t *UpstreamTLS, dir string, log *slog.Logger) (*credential, error) {
	files, err := upstreamCredFiles(t, dir)
	if err != nil {
		return nil, err
	}
	content, ld, err := files.load()
	if err != nil {
		return nil, err
	}
	build := func(ld *loaded) *tls.Config { return clientTLSFrom(t, ld.pool, ld.certs) }
	return &credential{server: "cluster " + cluster, files: files, build: build, log: log, poll: credentialPoll,
		cfg: build(ld), content: content, checked: time.Now()}, nil
}

// verifySANs checks the peer's chain against roots (the system pool when
// nil) and that the leaf carries one of sans as a DNS name, URI or IP.
func verifySANs(cs tls.ConnectionState, roots *x509.CertPool, sans []string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("upstream sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return err
	}
	for _, want := range sans {
		if slices.Contains(leaf.DNSNames, want) {
			return nil
		}
		for _, u := range leaf.URIs {
			if u.String() == want {
				return nil
			}
		}
		if ip := net.ParseIP(want); ip != nil {
			for _, have := range leaf.IPAddresses {
				if have.Equal(ip) {
					return nil
				}
			}
		}
	}
	return fmt.Errorf("upstream certificate matches none of the subjectAltNames %v", sans)
}
