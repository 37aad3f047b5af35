package runtime

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
)

// setClientCert applies Topology.ForwardClientCertDetails to
// x-forwarded-client-cert as Envoy's forward_client_cert_details does.
// With the gateway default, SANITIZE_SET, whatever the client sent is
// dropped, and on a connection with a verified client certificate the
// header describes it as Envoy does: Hash, Cert, Subject, URI and DNS.
func setClientCert(r *http.Request, mode string) {
	mtls := r.TLS != nil && len(r.TLS.PeerCertificates) > 0
	switch mode {
	case "ALWAYS_FORWARD_ONLY":
		return
	case "FORWARD_ONLY":
		if mtls {
			return
		}
	case "APPEND_FORWARD":
		if mtls {
			prior := strings.Join(r.Header["X-Forwarded-Client-Cert"], ",")
			if prior != "" {
				prior += ","
			}
			r.Header["X-Forwarded-Client-Cert"] = []string{prior + xfcc(r.TLS.PeerCertificates[0])}
			return
		}
	}
	delete(r.Header, "X-Forwarded-Client-Cert")
	if !mtls || mode == "SANITIZE" {
		return
	}
	r.Header["X-Forwarded-Client-Cert"] = []string{xfcc(r.TLS.PeerCertificates[0])}
}

func xfcc(c *x509.Certificate) string {
	var b strings.Builder
	sum := sha256.Sum256(c.Raw)
	b.WriteString("Hash=")
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteString(`;Cert="`)
	b.WriteString(url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))))
	b.WriteString(`";Subject="`)
	b.WriteString(strings.ReplaceAll(c.Subject.String(), `"`, `\"`))
	b.WriteByte('"')
	for _, u := range c.URIs {
		b.WriteString(";URI=")
		b.WriteString(u.String())
	}
	for _, d := range c.DNSNames {
		b.WriteString(";DNS=")
		b.WriteString(d)
	}
	return b.String()
}
