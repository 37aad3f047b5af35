package runtime

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
// one the client supports), and the client CA, none when the mode verifies
// no client certificates.
type credFiles struct {
	pairs []certKey
	ca    credFile
	crl   credFile // revoked client certificates; none when unset
}

// credFile is one file of a credential. A file a credential name gives is
// opened through an os.Root confined to --credentials-dir: a name with
// ".." or a symbolic link leading out of the folder fails to load, so a
// credential name can only ever reach the Secrets mounted there (the
// kubelet's own links, NAME/tls.crt -> ..data/tls.crt, stay inside). A
// path the configuration gives (serverCertificate, caCertificates) is
// opened as it is.
type credFile struct {
	dir  string // --credentials-dir; "" for a path of the configuration
	name string // relative to dir, or the path; "" for no file
}

// inDir is the file name of credential cred under dir.
func inDir(dir, cred, file string) credFile { return credFile{dir, cred + "/" + file} }

func (f credFile) none() bool { return f.name == "" }

// String is the file's path, for messages; not cleaned, so that a name
// with ".." shows as one.
func (f credFile) String() string {
	if f.dir == "" {
		return f.name
	}
	return filepath.Clean(f.dir) + string(filepath.Separator) + filepath.FromSlash(f.name)
}

func (f credFile) open() (*os.File, error) {
	if f.dir == "" {
		return os.Open(f.name)
	}
	file, err := os.OpenInRoot(f.dir, f.name)
	if err != nil {
		return nil, fmt.Errorf("%w (a credential is read only inside --credentials-dir %s)", err, f.dir)
	}
	return file, nil
}

func (f credFile) read() ([]byte, error) {
	file, err := f.open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

// exists reports whether the file can be opened; an error other than its
// absence (a name leading out of --credentials-dir) is returned.
func (f credFile) exists() (bool, error) {
	file, err := f.open()
	switch {
	case err == nil:
		file.Close()
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("reading %s: %w", f, err)
}

// loaded is a parsed credential.
type loaded struct {
	certs   []tls.Certificate
	pool    *x509.CertPool
	revoked map[string]bool // serial numbers, decimal
}

type certKey struct{ cert, key credFile }

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
		f.pairs = append(f.pairs, certKey{inDir(dir, n, "tls.crt"), inDir(dir, n, "tls.key")})
	}
	if s.ServerCertificate != "" {
		f.pairs = append(f.pairs, certKey{credFile{name: s.ServerCertificate}, credFile{name: s.PrivateKey}})
	}
	for _, p := range s.Certificates {
		f.pairs = append(f.pairs, certKey{credFile{name: p.Certificate}, credFile{name: p.Key}})
	}
	if s.Mode != TLSMutual && s.Mode != TLSOptionalMutual {
		return f, nil
	}
	var candidates []credFile
	if s.CACredentialName != "" {
		candidates = append(candidates, inDir(dir, s.CACredentialName, "ca.crt"))
	}
	if s.CACertificates != "" {
		candidates = append(candidates, credFile{name: s.CACertificates})
	}
	if len(names) > 0 {
		candidates = append(candidates, inDir(dir, names[0], "ca.crt"), inDir(dir, names[0]+"-cacert", "ca.crt"))
	}
	f.crl = credFile{name: s.CRL}
	if f.crl.none() && len(names) > 0 {
		// A Secret may carry its CRL as ca.crl.
		crl := inDir(dir, names[0], "ca.crl")
		ok, err := crl.exists()
		if err != nil {
			return f, err
		}
		if ok {
			f.crl = crl
		}
	}
	for _, ca := range candidates {
		ok, err := ca.exists()
		if err != nil {
			return f, err
		}
		if ok || len(candidates) == 1 {
			f.ca = ca
			return f, nil
		}
	}
	return f, fmt.Errorf("mode %s needs a client CA: none of %s exists", s.Mode, joinFiles(candidates))
}

func joinFiles(files []credFile) string {
	s := make([]string, len(files))
	for i, f := range files {
		s[i] = f.String()
	}
	return strings.Join(s, ", ")
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
	c.log.Info("credential reloaded", "server", c.server, "file", c.files.files()[0].String())
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

// files lists every file of the credential, in the order read frames them.
func (f credFiles) files() []credFile {
	var out []credFile
	for _, p := range f.pairs {
		out = append(out, p.cert, p.key)
	}
	if !f.ca.none() {
		out = append(out, f.ca)
	}
	if !f.crl.none() {
		out = append(out, f.crl)
	}
	return out
}

// names are the files' paths, for messages.
func (f credFiles) names() []string {
	var out []string
	for _, file := range f.files() {
		out = append(out, file.String())
	}
	return out
}

// read returns the files' bytes, each preceded by its length so that the
// concatenation identifies the set.
func (f credFiles) read() ([]byte, error) {
	var out []byte
	for _, file := range f.files() {
		b, err := file.read()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		out = fmt.Appendf(out, "%d:", len(b))
		out = append(out, b...)
	}
	return out, nil
}

func (f credFiles) parse(raw []byte) (*loaded, error) {
	parts := splitLengths(raw)
	if len(parts) != len(f.files()) {
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
	if !f.ca.none() {
		ld.pool = x509.NewCertPool()
		if !ld.pool.AppendCertsFromPEM(parts[next]) {
			return nil, fmt.Errorf("reading CA certificates %s: no PEM certificate found", f.ca)
		}
		next++
	}
	if !f.crl.none() {
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
