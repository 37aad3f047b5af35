package compiler

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

// tlsVersions maps a Gateway's TLS protocol names to crypto/tls versions;
// TLS_AUTO is the default (0).
var tlsVersions = map[string]uint16{
	"TLS_AUTO": 0,
	"TLSV1_0":  tls.VersionTLS10,
	"TLSV1_1":  tls.VersionTLS11,
	"TLSV1_2":  tls.VersionTLS12,
	"TLSV1_3":  tls.VersionTLS13,
}

// cipherSuites maps the OpenSSL-style names Istio accepts to crypto/tls
// suites. They apply to TLS 1.2 and below; TLS 1.3 suites are fixed.
var cipherSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

var tlsModes = map[string]bool{"SIMPLE": true, "MUTUAL": true, "OPTIONAL_MUTUAL": true}

// checkPlainTLS checks the tls block of a plaintext HTTP server: only
// httpsRedirect means something there, as istiod validates.
func (c *compilation) checkPlainTLS(gw *gateway, i int, s server) {
	t := s.TLS
	if t == nil {
		return
	}
	path := fmt.Sprintf("spec.servers[%d].tls", i)
	if t.Mode != "" && t.Mode != "PASSTHROUGH" || t.CredentialName != "" || t.ServerCertificate != "" || t.PrivateKey != "" || t.CACertificates != "" {
		c.errorc(codeValidation, gw.Resource, path, "use protocol HTTPS to terminate TLS, or keep only httpsRedirect on an HTTP server",
			"an HTTP server cannot have TLS settings other than httpsRedirect")
	}
}

// serverTLS checks and lowers the tls block of an HTTPS server.
func (c *compilation) serverTLS(gw *gateway, i int, s server) (*ir.ServerTLS, bool) {
	path := fmt.Sprintf("spec.servers[%d]", i)
	t := s.TLS
	if t == nil {
		c.errorc(codeNoCredentials, gw.Resource, path, "add tls: {mode: SIMPLE, credentialName: NAME}",
			"server must have TLS settings for protocol %s", s.Port.Protocol)
		return nil, false
	}
	path += ".tls"
	mode := t.Mode
	switch {
	case mode == "ISTIO_MUTUAL":
		c.errorc(codeUnsupported, gw.Resource, path+".mode", "use MUTUAL with a credentialName holding your CA",
			"TLS mode ISTIO_MUTUAL needs the mesh's certificate authority, which a standalone gateway does not have")
		return nil, false
	case mode == "AUTO_PASSTHROUGH":
		c.errorc(codeUnsupported, gw.Resource, path+".mode", "use SIMPLE or MUTUAL",
			"TLS mode AUTO_PASSTHROUGH routes by the mesh's outbound SNI names, which a standalone gateway does not have")
		return nil, false
	case !tlsModes[mode]:
		c.errorc(codeValidation, gw.Resource, path+".mode", "use SIMPLE, MUTUAL or OPTIONAL_MUTUAL", "unknown TLS mode %q", mode)
		return nil, false
	}
	out := &ir.ServerTLS{
		Origin:                serverOrigin(gw, i),
		Mode:                  mode,
		CredentialName:        t.CredentialName,
		ServerCertificate:     t.ServerCertificate,
		PrivateKey:            t.PrivateKey,
		CACertificates:        t.CACertificates,
		SubjectAltNames:       t.SubjectAltNames,
		VerifyCertificateSpki: t.VerifyCertificateSpki,
		VerifyCertificateHash: t.VerifyCertificateHash,
	}
	ok := true
	// Credential names become the Secret names the ingress reads.
	secret := func(field, ref string) string {
		s, good := credentialSecret(ref, gw.Namespace, false, func(hint, format string, args ...any) {
			c.errorc(codeCredentialForm, gw.Resource, path+"."+field, hint, format, args...)
		})
		ok = ok && good
		return s
	}
	if t.CredentialName != "" {
		out.CredentialName = secret("credentialName", t.CredentialName)
	}
	files := t.ServerCertificate != "" || t.PrivateKey != ""
	named := t.CredentialName != "" || len(t.CredentialNames) > 0
	switch {
	case (named || len(t.TLSCertificates) > 0) && files:
		c.errorc(codeUnsupported, gw.Resource, path+".serverCertificate", "give either a credential name, tlsCertificates, or serverCertificate and privateKey",
			"certificate file paths are set together with another certificate source")
		ok = false
	case named && t.CACertificates != "":
		c.errorc(codeValidation, gw.Resource, path+".caCertificates", "put the CA in the credential (NAME/ca.crt), or name it with caCertCredentialName",
			"caCertificates cannot be used with a credential name")
		ok = false
	case !named && len(t.TLSCertificates) == 0 && (t.ServerCertificate == "" || t.PrivateKey == ""):
		c.errorc(codeNoCredentials, gw.Resource, path, "set credentialName: NAME (files NAME/tls.crt and NAME/tls.key under --credentials-dir), or serverCertificate and privateKey",
			"TLS mode %s needs a certificate and key: no credentialName, serverCertificate or privateKey", mode)
		ok = false
	case !named && mode != "SIMPLE" && t.CACertificates == "" && t.CACertCredentialName == "":
		c.errorc(codeNoCredentials, gw.Resource, path, "set caCertificates to the CA bundle that signs client certificates",
			"TLS mode %s requires a client CA bundle (caCertificates)", mode)
		ok = false
	}
	for k, p := range t.TLSCertificates {
		if p.ServerCertificate == "" || p.PrivateKey == "" {
			c.errorc(codeNoCredentials, gw.Resource, fmt.Sprintf("%s.tlsCertificates[%d]", path, k), "set both serverCertificate and privateKey",
				"a tlsCertificates entry needs a certificate and its key")
			ok = false
		}
		out.Certificates = append(out.Certificates, ir.CertificateFiles{Certificate: p.ServerCertificate, Key: p.PrivateKey})
	}
	for k, n := range t.CredentialNames {
		out.CredentialNames = append(out.CredentialNames, secret(fmt.Sprintf("credentialNames[%d]", k), n))
	}
	if t.CACertCredentialName != "" {
		out.CACredentialName = secret("caCertCredentialName", t.CACertCredentialName)
	}
	out.CRL, out.InsecureSkipVerify = t.CACrl, t.InsecureSkipVerify
	switch {
	case t.CACrl != "" && named:
		c.errorc(codeUnsupported, gw.Resource, path+".caCrl", "put the CRL in the credential as NAME/ca.crl",
			"caCrl cannot be used with a credential name: the CRL comes with the credential")
		ok = false
	case t.CACrl != "" && mode == "SIMPLE":
		c.errorc(codeValidation, gw.Resource, path+".caCrl", "use mode MUTUAL or OPTIONAL_MUTUAL, or remove caCrl",
			"caCrl has no use with mode SIMPLE, which asks for no client certificate")
		ok = false
	}
	if t.InsecureSkipVerify && mode == "SIMPLE" {
		c.warnc(codeValidationWarn, gw.Resource, path+".insecureSkipVerify", "remove it", "insecureSkipVerify has no effect with mode SIMPLE")
	}
	if mode == "SIMPLE" && (len(t.SubjectAltNames)+len(t.VerifyCertificateSpki)+len(t.VerifyCertificateHash) > 0 || t.CACertificates != "") {
		c.warnc(codeValidationWarn, gw.Resource, path, "use mode MUTUAL or OPTIONAL_MUTUAL to verify client certificates",
			"client certificate checks have no effect with mode SIMPLE, which asks for no client certificate")
	}
	var okVersion bool
	if out.MinVersion, okVersion = tlsVersions[cmpOr(t.MinProtocolVersion, "TLS_AUTO")]; !okVersion {
		ok = false
	}
	if out.MaxVersion, okVersion = tlsVersions[cmpOr(t.MaxProtocolVersion, "TLS_AUTO")]; !okVersion {
		ok = false
	}
	if out.MaxVersion != 0 && out.MaxVersion < max(out.MinVersion, tls.VersionTLS12) {
		c.errorc(codeValidation, gw.Resource, path+".maxProtocolVersion", "raise maxProtocolVersion or lower minProtocolVersion (the default minimum is TLSV1_2)",
			"maxProtocolVersion %s is below the minimum version", t.MaxProtocolVersion)
		ok = false
	}
	if out.MinVersion != 0 && out.MinVersion < tls.VersionTLS12 && len(t.CipherSuites) == 0 {
		c.warnc(codeValidationWarn, gw.Resource, path+".minProtocolVersion", "set cipherSuites, or use TLSV1_2",
			"minProtocolVersion below TLSV1_2 without cipherSuites enables the default ciphers on old protocol versions")
	}
	for k, name := range t.CipherSuites {
		id, known := cipherSuites[strings.ToUpper(name)]
		at := fmt.Sprintf("%s.cipherSuites[%d]", path, k)
		switch {
		case !known:
			c.warnc(codeValidationWarn, gw.Resource, at, "use one of "+strings.Join(sortedKeys(cipherSuites), ", "), "unknown cipher suite %q is ignored", name)
		case slices.Contains(out.CipherSuites, id):
			c.warnc(codeValidationWarn, gw.Resource, at, "remove the duplicate", "cipher suite %q is listed twice", name)
		default:
			out.CipherSuites = append(out.CipherSuites, id)
		}
	}
	for _, h := range s.Hosts {
		host := names.ParseServerHost(h, gw.Namespace).Host
		if !slices.Contains(out.SNI, host) {
			out.SNI = append(out.SNI, host)
		}
	}
	return out, ok
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func serverOrigin(gw *gateway, i int) ir.Origin {
	return boundServer{gw: gw, index: i}.origin()
}

// tcpProtocols are the Gateway protocols served as plain TCP, as istiod
// treats every protocol it cannot inspect.
var tcpProtocols = map[string]bool{"TCP": true, "MONGO": true, "REDIS": true, "MYSQL": true}

// classifyServer decides how a server is served and returns its listener
// protocol: an HTTP-family protocol (cleartext HTTP), "HTTPS" (TLS
// terminated, then HTTP), "TLS" (passthrough by SNI) or "TCP".
func (c *compilation) classifyServer(gw *gateway, i int, s server, bs *boundServer) (string, bool) {
	path := fmt.Sprintf("spec.servers[%d]", i)
	proto := strings.ToUpper(s.Port.Protocol)
	switch {
	case httpProtocols[proto]:
		c.checkPlainTLS(gw, i, s)
		bs.redirect = s.TLS != nil && s.TLS.HTTPSRedirect
		return proto, true
	case proto == "HTTPS" || proto == "TLS":
		if s.TLS == nil {
			c.errorc(codeNoCredentials, gw.Resource, path, "add tls: {mode: SIMPLE, credentialName: NAME}, or tls: {mode: PASSTHROUGH}",
				"server must have TLS settings for protocol %s", s.Port.Protocol)
			return "", false
		}
		switch s.TLS.Mode {
		case "", "PASSTHROUGH":
			bs.passthrough = true
			t := s.TLS
			if t.CredentialName != "" || t.ServerCertificate != "" || t.PrivateKey != "" || t.CACertificates != "" {
				c.warnc(codeValidationWarn, gw.Resource, path+".tls", "remove the certificate fields, or set mode: SIMPLE to terminate TLS",
					"TLS mode PASSTHROUGH (the default when mode is omitted) forwards the encrypted stream: the certificates are ignored")
			}
			return "TLS", true
		}
		t, ok := c.serverTLS(gw, i, s)
		bs.tls = t
		bs.tcp = proto == "TLS" // terminated, then forwarded by a tcp rule
		return "HTTPS", ok
	case tcpProtocols[proto]:
		if s.TLS != nil {
			c.errorc(codeValidation, gw.Resource, path+".tls", "remove tls, or use protocol TLS", "a %s server cannot have TLS settings", proto)
			return "", false
		}
		return "TCP", true
	}
	c.errorc(codeUnsupported, gw.Resource, path+".port.protocol", "use HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TLS or TCP",
		"protocol %s is not supported at a gateway by gwc", s.Port.Protocol)
	return "", false
}
