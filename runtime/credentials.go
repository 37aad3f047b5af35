package runtime

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// credentialPoll bounds how often handshakes look at a server's files: a
// rotated Kubernetes Secret (the kubelet swaps a symlink) is picked up by
// the first handshake after it, at most this late.
var credentialPoll = time.Second

// credFiles are the files one server's credential is read from: one or
// more certificate and key pairs (RSA and ECDSA, say; the handshake picks
// one the client supports), and the client CA, "" when the mode verifies
// no client certificates.
type credFiles struct {
	pairs []certKey
	ca    string
	crl   string // revoked client certificates, "" for none
}

// loaded is a parsed credential.
type loaded struct {
	certs   []tls.Certificate
	pool    *x509.CertPool
	revoked map[string]bool // serial numbers, decimal
}

type certKey struct{ cert, key string }

// credentialFiles resolves where a server's credential lives: under dir by
// credential name (a mounted Secret: NAME/tls.crt, NAME/tls.key, and the CA
// in NAME/ca.crt or, Istio's convention for a separate CA Secret,
// NAME-cacert/ca.crt; caCertCredentialName first when given), or at the
// paths the server names.
func credentialFiles(s *ServerTLS, dir string) (credFiles, error) {
	var f credFiles
	names := s.CredentialNames
	if s.CredentialName != "" {
		names = append([]string{s.CredentialName}, names...)
	}
	for _, n := range names {
		f.pairs = append(f.pairs, certKey{filepath.Join(dir, n, "tls.crt"), filepath.Join(dir, n, "tls.key")})
	}
	if s.ServerCertificate != "" {
		f.pairs = append(f.pairs, certKey{s.ServerCertificate, s.PrivateKey})
	}
	for _, p := range s.Certificates {
		f.pairs = append(f.pairs, certKey{p.Certificate, p.Key})
	}
	if s.Mode != TLSMutual && s.Mode != TLSOptionalMutual {
		return f, nil
	}
	var candidates []string
	if s.CACredentialName != "" {
		candidates = append(candidates, filepath.Join(dir, s.CACredentialName, "ca.crt"))
	}
	if s.CACertificates != "" {
		candidates = append(candidates, s.CACertificates)
	}
	if len(names) > 0 {
		candidates = append(candidates, filepath.Join(dir, names[0], "ca.crt"), filepath.Join(dir, names[0]+"-cacert", "ca.crt"))
	}
	f.crl = s.CRL
	if f.crl == "" && len(names) > 0 {
		// A Secret may carry its CRL as ca.crl.
		if crl := filepath.Join(dir, names[0], "ca.crl"); fileExists(crl) {
			f.crl = crl
		}
	}
	for _, ca := range candidates {
		if fileExists(ca) || len(candidates) == 1 {
			f.ca = ca
			return f, nil
		}
	}
	return f, fmt.Errorf("mode %s needs a client CA: none of %s exists", s.Mode, strings.Join(candidates, ", "))
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// credential is a server's certificate, key and client CA, re-read when
// the files change.
type credential struct {
	server string // ServerTLS.ID, for logs
	files  credFiles
	build  func(*loaded) *tls.Config
	log    *slog.Logger
	poll   time.Duration // credentialPoll when the credential was made

	mu      sync.Mutex
	cfg     *tls.Config
	content []byte // the files' bytes the current cfg was built from
	bad     []byte // the last content that failed to load, logged once
	checked time.Time
}

// newCredential loads the files once; an error names the file and the
// server, and means the binary must not start.
func newCredential(server string, files credFiles, build func(*loaded) *tls.Config, log *slog.Logger) (*credential, error) {
	c := &credential{server: server, files: files, build: build, log: log, poll: credentialPoll}
	content, ld, err := files.load()
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	c.cfg, c.content, c.checked = build(ld), content, time.Now()
	return c, nil
}

// config returns the TLS configuration for a new handshake, re-reading the
// files when credentialPoll has passed. A broken new file keeps the old
// credential serving.
func (c *credential) config() *tls.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < c.poll {
		return c.cfg
	}
	c.checked = time.Now()
	raw, err := c.files.read()
	if err == nil && bytes.Equal(raw, c.content) {
		return c.cfg
	}
	var ld *loaded
	if err == nil {
		ld, err = c.files.parse(raw)
	}
	if err != nil {
		if raw == nil || !bytes.Equal(raw, c.bad) {
			c.log.Warn("credential changed but cannot be loaded; still serving the previous one", "server", c.server, "err", err)
		}
		c.bad = raw
		return c.cfg
	}
	c.cfg, c.content, c.bad = c.build(ld), raw, nil
	c.log.Info("credential reloaded", "server", c.server, "cert", c.files.pairs[0].cert)
	return c.cfg
}

func (f credFiles) load() ([]byte, *loaded, error) {
	raw, err := f.read()
	if err != nil {
		return nil, nil, err
	}
	ld, err := f.parse(raw)
	return raw, ld, err
}

func (f credFiles) names() []string {
	var out []string
	for _, p := range f.pairs {
		out = append(out, p.cert, p.key)
	}
	if f.ca != "" {
		out = append(out, f.ca)
	}
	if f.crl != "" {
		out = append(out, f.crl)
	}
	return out
}

// read returns the files' bytes, each preceded by its length so that the
// concatenation identifies the set.
func (f credFiles) read() ([]byte, error) {
	var out []byte
	for _, name := range f.names() {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %w", err)
		}
		out = fmt.Appendf(out, "%d:", len(b))
		out = append(out, b...)
	}
	return out, nil
}

func (f credFiles) parse(raw []byte) (*loaded, error) {
	parts := splitLengths(raw)
	if len(parts) != len(f.names()) {
		return nil, errors.New("credential files changed while being read")
	}
	ld := &loaded{}
	for i, p := range f.pairs {
		cert, err := tls.X509KeyPair(parts[2*i], parts[2*i+1])
		if err != nil {
			return nil, fmt.Errorf("loading certificate %s with key %s: %w", p.cert, p.key, err)
		}
		ld.certs = append(ld.certs, cert)
	}
	next := 2 * len(f.pairs)
	if f.ca != "" {
		ld.pool = x509.NewCertPool()
		if !ld.pool.AppendCertsFromPEM(parts[next]) {
			return nil, fmt.Errorf("reading CA certificates %s: no PEM certificate found", f.ca)
		}
		next++
	}
	if f.crl != "" {
		der := parts[next]
		if b, _ := pem.Decode(der); b != nil {
			der = b.Bytes
		}
		list, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("reading CRL %s: %w", f.crl, err)
		}
		ld.revoked = map[string]bool{}
		for _, e := range list.RevokedCertificateEntries {
			ld.revoked[e.SerialNumber.String()] = true
		}
	}
	return ld, nil
}

// splitLengths undoes read's framing.
func splitLengths(raw []byte) [][]byte {
	var parts [][]byte
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, ':')
		if i < 0 {
			return nil
		}
		var n int
		if _, err := fmt.Sscanf(string(raw[:i]), "%d", &n); err != nil || n < 0 || n > len(raw)-i-1 {
			return nil
		}
		parts = append(parts, raw[i+1:i+1+n])
		raw = raw[i+1+n:]
	}
	return parts
}
