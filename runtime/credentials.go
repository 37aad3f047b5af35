package runtime

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// credentialPoll bounds how often handshakes look at a server's files: a
// rotated Kubernetes Secret (the kubelet swaps a symlink) is picked up by
// the first handshake after it, at most this late.
var credentialPoll = time.Second

// credFiles are the files one server's credential is read from. ca is ""
// when the mode verifies no client certificates.
type credFiles struct{ cert, key, ca string }

// credentialFiles resolves where a server's credential lives: under dir by
// credentialName (a mounted Secret: NAME/tls.crt, NAME/tls.key, and the CA
// in NAME/ca.crt or, Istio's convention for a separate CA Secret,
// NAME-cacert/ca.crt), or at the paths the server names.
func credentialFiles(s *ServerTLS, dir string) (credFiles, error) {
	needCA := s.Mode == TLSMutual || s.Mode == TLSOptionalMutual
	if s.CredentialName == "" {
		f := credFiles{cert: s.ServerCertificate, key: s.PrivateKey}
		if needCA {
			f.ca = s.CACertificates
		}
		return f, nil
	}
	base := filepath.Join(dir, s.CredentialName)
	f := credFiles{cert: filepath.Join(base, "tls.crt"), key: filepath.Join(base, "tls.key")}
	if !needCA {
		return f, nil
	}
	for _, ca := range []string{filepath.Join(base, "ca.crt"), filepath.Join(dir, s.CredentialName+"-cacert", "ca.crt")} {
		if _, err := os.Stat(ca); err == nil {
			f.ca = ca
			return f, nil
		}
	}
	return f, fmt.Errorf("mode %s needs a client CA: neither %s nor %s exists",
		s.Mode, filepath.Join(base, "ca.crt"), filepath.Join(dir, s.CredentialName+"-cacert", "ca.crt"))
}

// credential is a server's certificate, key and client CA, re-read when
// the files change.
type credential struct {
	server string // ServerTLS.ID, for logs
	files  credFiles
	build  func(*tls.Certificate, *x509.CertPool) *tls.Config
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
func newCredential(server string, files credFiles, build func(*tls.Certificate, *x509.CertPool) *tls.Config, log *slog.Logger) (*credential, error) {
	c := &credential{server: server, files: files, build: build, log: log, poll: credentialPoll}
	content, cert, pool, err := files.load()
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", server, err)
	}
	c.cfg, c.content, c.checked = build(cert, pool), content, time.Now()
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
	var cert *tls.Certificate
	var pool *x509.CertPool
	if err == nil {
		cert, pool, err = c.files.parse(raw)
	}
	if err != nil {
		if raw == nil || !bytes.Equal(raw, c.bad) {
			c.log.Warn("credential changed but cannot be loaded; still serving the previous one", "server", c.server, "err", err)
		}
		c.bad = raw
		return c.cfg
	}
	c.cfg, c.content, c.bad = c.build(cert, pool), raw, nil
	c.log.Info("credential reloaded", "server", c.server, "cert", c.files.cert)
	return c.cfg
}

func (f credFiles) load() ([]byte, *tls.Certificate, *x509.CertPool, error) {
	raw, err := f.read()
	if err != nil {
		return nil, nil, nil, err
	}
	cert, pool, err := f.parse(raw)
	return raw, cert, pool, err
}

// read returns the files' bytes, each preceded by its length so that the
// concatenation identifies the set.
func (f credFiles) read() ([]byte, error) {
	var out []byte
	for _, name := range []string{f.cert, f.key, f.ca} {
		if name == "" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading %w", err)
		}
		out = fmt.Appendf(out, "%d:", len(b))
		out = append(out, b...)
	}
	return out, nil
}

func (f credFiles) parse(raw []byte) (*tls.Certificate, *x509.CertPool, error) {
	parts := splitLengths(raw)
	if len(parts) < 2 {
		return nil, nil, errors.New("credential files changed while being read")
	}
	cert, err := tls.X509KeyPair(parts[0], parts[1])
	if err != nil {
		return nil, nil, fmt.Errorf("loading certificate %s with key %s: %w", f.cert, f.key, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("parsing certificate %s: %w", f.cert, err)
		}
	}
	if f.ca == "" {
		return &cert, nil, nil
	}
	if len(parts) < 3 {
		return nil, nil, errors.New("credential files changed while being read")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(parts[2]) {
		return nil, nil, fmt.Errorf("reading CA certificates %s: no PEM certificate found", f.ca)
	}
	return &cert, pool, nil
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
