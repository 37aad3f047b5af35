package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
)

// clientTLSConfig builds the TLS client configuration of a DestinationRule
// tls block, reading its files now so that a missing file stops the binary
// at start rather than failing requests.
func clientTLSConfig(t *UpstreamTLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.SNI}
	if t.CACertificates != "" {
		pem, err := os.ReadFile(t.CACertificates)
		if err != nil {
			return nil, fmt.Errorf("reading caCertificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caCertificates %s holds no PEM certificate", t.CACertificates)
		}
		cfg.RootCAs = pool
	}
	if t.ClientCertificate != "" || t.PrivateKey != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCertificate, t.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("loading clientCertificate and privateKey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	switch {
	case t.InsecureSkipVerify:
		cfg.InsecureSkipVerify = true
	case len(t.SubjectAltNames) > 0:
		// The chain is verified as usual, but against the listed names
		// instead of the SNI.
		roots := cfg.RootCAs
		sans := t.SubjectAltNames
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifySANs(cs, roots, sans)
		}
	}
	return cfg, nil
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
