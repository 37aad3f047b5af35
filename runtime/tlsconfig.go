package runtime

import (
	"errors"
	"fmt"
	"strconv"
)

// TLSMode is how a server terminates TLS.
type TLSMode uint8

const (
	// TLSSimple terminates TLS without asking for a client certificate.
	TLSSimple TLSMode = iota + 1
	// TLSMutual requires a client certificate signed by the CA.
	TLSMutual
	// TLSOptionalMutual asks for a client certificate and verifies it when
	// one is given.
	TLSOptionalMutual
)

// String names the mode as a Gateway does.
func (m TLSMode) String() string {
	switch m {
	case TLSSimple:
		return "SIMPLE"
	case TLSMutual:
		return "MUTUAL"
	case TLSOptionalMutual:
		return "OPTIONAL_MUTUAL"
	}
	return "TLSMode(" + strconv.Itoa(int(m)) + ")"
}

// ServerTLS is one Gateway server that terminates TLS. Its certificate and
// key are read at run time from files, never compiled in: either the
// credential directory (CredentialName) or the paths given.
type ServerTLS struct {
	// ID names the server's origin, e.g. "gw.yaml:9:5 ns/gw servers[1]".
	ID string
	// SNI lists the server names the server answers, lower case: exact
	// names, "*.suffix" wildcards; empty or "*" means any name, and a
	// handshake without SNI.
	SNI  []string
	Mode TLSMode
	// CredentialName names NAME/tls.crt, NAME/tls.key and NAME/ca.crt (or
	// NAME-cacert/ca.crt) under the credentials directory.
	CredentialName string
	// ServerCertificate, PrivateKey and CACertificates are file paths, used
	// when CredentialName is empty.
	ServerCertificate string
	PrivateKey        string
	CACertificates    string
	// CredentialNames (Istio's credentialNames) and Certificates
	// (tlsCertificates) add certificates, an RSA and an ECDSA one say: the
	// handshake serves one the client supports.
	CredentialNames []string
	Certificates    []CertificateFiles
	// CACredentialName (caCertCredentialName) names the credential whose
	// ca.crt holds the client CA, before any other.
	CACredentialName string
	// CRL (caCrl) lists revoked client certificates; with a credential
	// name, NAME/ca.crl is used when it exists.
	CRL string
	// InsecureSkipVerify asks for client certificates as the mode says but
	// lets any through.
	InsecureSkipVerify bool
	// TCP, when set, forwards the decrypted stream to the route's clusters
	// instead of serving HTTP: a TLS server that terminates for a
	// VirtualService tcp rule.
	TCP *L4Route
	// SubjectAltNames, when set, must contain one of the client
	// certificate's SANs (DNS, URI, IP or email).
	SubjectAltNames []string
	// VerifyCertificateSpki (base64 sha256 of the SPKI) and
	// VerifyCertificateHash (hex sha256 of the DER, colons allowed): when
	// either is set, the client certificate must match one entry of either.
	VerifyCertificateSpki []string
	VerifyCertificateHash []string
	// MinVersion and MaxVersion are crypto/tls versions; 0 is the default
	// (TLS 1.2 minimum, TLS 1.3 maximum).
	MinVersion uint16
	MaxVersion uint16
	// CipherSuites are crypto/tls IDs for TLS 1.2 and below; empty is the
	// default list.
	CipherSuites []uint16
}

// CertificateFiles is one certificate and its key, as file paths.
type CertificateFiles struct {
	Certificate string
	Key         string
}

// prepareTLS checks an HTTPS listener's servers and the virtual hosts'
// references to them.
func (l *Listener) prepareTLS(nclusters int) []error {
	var errs []error
	if len(l.TLS) == 0 {
		errs = append(errs, errors.New("HTTPS listener without TLS servers"))
	}
	for i := range l.TLS {
		s := &l.TLS[i]
		switch {
		case s.Mode < TLSSimple || s.Mode > TLSOptionalMutual:
			errs = append(errs, fmt.Errorf("TLS server %d %q: unknown mode %d", i, s.ID, s.Mode))
		case s.CredentialName == "" && len(s.CredentialNames) == 0 && len(s.Certificates) == 0 && (s.ServerCertificate == "" || s.PrivateKey == ""):
			errs = append(errs, fmt.Errorf("TLS server %d %q: no credentialName and no certificate and key files", i, s.ID))
		case s.CredentialName == "" && len(s.CredentialNames) == 0 && s.CACredentialName == "" && s.Mode != TLSSimple && s.CACertificates == "":
			errs = append(errs, fmt.Errorf("TLS server %d %q: mode %s without CA certificates", i, s.ID, s.Mode))
		case s.MaxVersion != 0 && s.MaxVersion < s.MinVersion:
			errs = append(errs, fmt.Errorf("TLS server %d %q: maximum version below minimum", i, s.ID))
		}
		if r := s.TCP; r != nil {
			r.route = Route{ID: r.ID, Clusters: r.Clusters}
			if err := r.route.prepareWeights(nclusters); err != nil {
				errs = append(errs, fmt.Errorf("TLS server %d %q: tcp route: %w", i, s.ID, err))
			}
		}
	}
	for _, vh := range l.VirtualHosts {
		for _, si := range vh.TLSServers {
			if si < 0 || si >= len(l.TLS) {
				errs = append(errs, fmt.Errorf("virtual host %q: TLS server %d out of range (have %d)", vh.Domain, si, len(l.TLS)))
			}
		}
	}
	return errs
}
