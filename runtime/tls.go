package runtime

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// terminator terminates TLS for one listener: it picks the server by SNI,
// as Envoy picks a filter chain by server_names (exact name first, then
// the longest wildcard suffix, then a server without names), and hands
// out that server's current credential.
type terminator struct {
	servers []*ServerTLS
	l4      []L4Route // the listener's passthrough routes, after servers in sni
	creds   []*credential
	sni     sniTable
	config  *tls.Config
}

// sniTable picks an entry by server name as Envoy picks a filter chain by
// server_names: exact name first, then the longest wildcard suffix, then
// the entry that takes any name.
type sniTable struct {
	exact map[string]int
	wild  []wildSNI // longest suffix first
	any   int       // the entry taking every name, or -1
}

func newSNITable() sniTable { return sniTable{exact: map[string]int{}, any: -1} }

// add registers entry i for names; no names, or "*", means any name. An
// earlier entry keeps a name it already has.
func (t *sniTable) add(i int, names []string) {
	if len(names) == 0 && t.any < 0 {
		t.any = i
	}
	for _, name := range names {
		name = strings.ToLower(name)
		switch {
		case name == "*":
			if t.any < 0 {
				t.any = i
			}
		case strings.HasPrefix(name, "*."):
			if !slices.ContainsFunc(t.wild, func(w wildSNI) bool { return w.suffix == name[1:] }) {
				t.wild = append(t.wild, wildSNI{suffix: name[1:], server: i})
			}
		default:
			if _, dup := t.exact[name]; !dup {
				t.exact[name] = i
			}
		}
	}
	slices.SortStableFunc(t.wild, func(a, b wildSNI) int { return len(b.suffix) - len(a.suffix) })
}

// pick returns the entry for a server name, or -1.
func (t *sniTable) pick(sni string) int {
	sni = strings.ToLower(strings.TrimSuffix(sni, "."))
	if sni != "" {
		if i, ok := t.exact[sni]; ok {
			return i
		}
		for _, w := range t.wild {
			if len(sni) > len(w.suffix) && strings.HasSuffix(sni, w.suffix) {
				return w.server
			}
		}
	}
	return t.any
}

type wildSNI struct {
	suffix string // ".example.com"
	server int
}

// errUnknownSNI fails a handshake whose server name no server answers;
// Envoy closes such a connection, having no filter chain for it.
var errUnknownSNI = errors.New("no server for this server name")

// newTerminator loads the credentials of l's TLS servers. An error names
// the file and the server.
func newTerminator(l *Listener, dir string, log *slog.Logger) (*terminator, error) {
	t := &terminator{sni: newSNITable()}
	var errs []error
	for i := range l.TLS {
		s := &l.TLS[i]
		t.servers = append(t.servers, s)
		var c *credential
		files, err := credentialFiles(s, dir)
		if err != nil {
			err = fmt.Errorf("server %s: %w", s.ID, err)
		} else {
			c, err = newCredential(s.ID, files, s.tlsConfig, log)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("port %d: %w", l.Port, err))
		}
		t.creds = append(t.creds, c)
		t.sni.add(i, s.SNI)
	}
	// Passthrough routes share the port: their names come after the
	// servers', so a name both have is terminated.
	for i, r := range l.L4 {
		t.sni.add(len(l.TLS)+i, r.SNI)
	}
	t.l4 = l.L4
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	t.config = &tls.Config{GetConfigForClient: t.configFor}
	return t, nil
}

// pick returns the index of the server for a server name, or -1.
func (t *terminator) pick(sni string) int { return t.sni.pick(sni) }

func (t *terminator) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	i := t.pick(hello.ServerName)
	if i < 0 || i >= len(t.creds) {
		return nil, errUnknownSNI
	}
	return t.creds[i].config(), nil
}

// tlsConfig builds the handshake configuration of a server for one loaded
// credential: TLS 1.2 minimum unless the server says otherwise, ALPN h2
// and http/1.1, client certificates as the mode asks.
func (s *ServerTLS) tlsConfig(ld *loaded) *tls.Config {
	pool := ld.pool
	c := &tls.Config{
		Certificates: ld.certs,
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	switch s.Mode {
	case TLSMutual:
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, pool
	case TLSOptionalMutual:
		c.ClientAuth, c.ClientCAs = tls.VerifyClientCertIfGiven, pool
	}
	if s.InsecureSkipVerify && c.ClientCAs != nil {
		// Ask as the mode says, let any certificate through (Envoy's
		// ACCEPT_UNTRUSTED).
		c.ClientAuth = map[TLSMode]tls.ClientAuthType{TLSMutual: tls.RequireAnyClientCert, TLSOptionalMutual: tls.RequestClientCert}[s.Mode]
		return c
	}
	if c.ClientCAs != nil && (len(s.SubjectAltNames)+len(s.VerifyCertificateSpki)+len(s.VerifyCertificateHash) > 0 || ld.revoked != nil) {
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 && ld.revoked[cs.PeerCertificates[0].SerialNumber.String()] {
				return errors.New("client certificate is revoked")
			}
			return s.verifyPeer(cs)
		}
	}
	return c
}

// verifyPeer enforces subjectAltNames, verifyCertificateSpki and
// verifyCertificateHash on a verified client certificate, as Envoy's
// certificate validation context does. Without a client certificate
// (OPTIONAL_MUTUAL) there is nothing to check.
func (s *ServerTLS) verifyPeer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	leaf := cs.PeerCertificates[0]
	if len(s.SubjectAltNames) > 0 && !slices.ContainsFunc(certSANs(leaf), func(san string) bool {
		return slices.Contains(s.SubjectAltNames, san)
	}) {
		return errors.New("client certificate has none of the subject alternative names the server requires")
	}
	if len(s.VerifyCertificateSpki)+len(s.VerifyCertificateHash) == 0 {
		return nil
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	if slices.Contains(s.VerifyCertificateSpki, base64.StdEncoding.EncodeToString(spki[:])) {
		return nil
	}
	hash := sha256.Sum256(leaf.Raw)
	for _, h := range s.VerifyCertificateHash {
		want, err := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
		if err == nil && bytes.Equal(want, hash[:]) {
			return nil
		}
	}
	return errors.New("client certificate matches none of the pinned SPKI or certificate hashes")
}

func certSANs(c *x509.Certificate) []string {
	sans := slices.Clone(c.DNSNames)
	sans = append(sans, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	return sans
}
