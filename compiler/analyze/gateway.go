package analyze

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/names"
)

// portNames checks Istio's rule that port names are unique within a
// Gateway ("port names in servers must be unique"), even between servers
// of one port number.
func (r *reporter) portNames(g *gatewayRes) {
	res := g.Resource
	names := map[string]int{}
	for i, s := range g.Spec.Servers {
		if s.Port.Name == "" {
			r.report(diag.Error, diag.CodeValidation, res, fmt.Sprintf("spec.servers[%d].port", i), "name the port, e.g. name: http",
				"port name must be set")
			continue
		}
		f, ok := names[s.Port.Name]
		if !ok {
			names[s.Port.Name] = i
			continue
		}
		r.report(diag.Error, diag.CodeValidation, res, fmt.Sprintf("spec.servers[%d].port.name", i), "give each server's port its own name",
			fmt.Sprintf("port name %q is already used by spec.servers[%d] for port %d", s.Port.Name, f, g.Spec.Servers[f].Port.Number))
	}
}

// servers checks the rules of Istio's validateServer and
// validateServerPort the schema cannot express: no targetPort on a
// Gateway, bind an IP address or a unix socket path.
func (r *reporter) servers(g *gatewayRes) {
	for i, s := range g.Spec.Servers {
		path := fmt.Sprintf("spec.servers[%d]", i)
		if s.Port.TargetPort != 0 {
			r.report(diag.Error, diag.CodeValidation, g.Resource, path+".port.targetPort", "remove it: a Gateway listens on port.number",
				"targetPort has no impact on Gateways")
		}
		if b := s.Bind; b != "" {
			_, err := netip.ParseAddr(b)
			uds := strings.HasPrefix(b, "unix://") && len(b) > len("unix://") && !strings.HasSuffix(b, "/") &&
				(strings.HasPrefix(b, "unix:///") || strings.HasPrefix(b, "unix://@"))
			if err != nil && !uds {
				r.report(diag.Error, diag.CodeValidation, g.Resource, path+".bind", "write an IP address such as 0.0.0.0 or ::, or unix:///absolute/path",
					fmt.Sprintf("bind %q is neither an IP address nor a unix socket path", b))
			}
		}
	}
}

// serverTLS checks the TLS rules of Istio's validateServer and
// validateTLSOptions: HTTPS and TLS servers need tls; terminating modes
// need a certificate; MUTUAL needs a CA unless a credential carries it.
func (r *reporter) serverTLS(g *gatewayRes) {
	res := g.Resource
	for i, s := range g.Spec.Servers {
		path := fmt.Sprintf("spec.servers[%d]", i)
		proto := strings.ToUpper(s.Port.Protocol)
		if !knownProtocols[proto] {
			continue // the schema reports it; judging TLS by it would mislead
		}
		if s.TLS == nil {
			if proto == "HTTPS" || proto == "TLS" {
				r.report(diag.Error, diag.CodeNoCredentials, res, path+".port.protocol",
					"add tls: {mode: SIMPLE, credentialName: NAME}, or use protocol HTTP",
					"server must have TLS settings for HTTPS/TLS protocols")
			}
			continue
		}
		t := s.TLS
		mode := strings.ToUpper(t.Mode)
		if mode == "" {
			mode = "PASSTHROUGH"
		}
		credential := t.CredentialName != "" || len(t.CredentialNames) > 0
		files := t.ServerCert != "" || t.PrivateKey != "" || t.CACertificates != ""
		certs := credential || files || len(t.TLSCertificates) > 0
		tlsProto := proto == "HTTPS" || proto == "TLS"
		httpProto := proto == "HTTP" || proto == "HTTP2" || proto == "GRPC" || proto == "GRPC-WEB" || proto == "HTTP_PROXY"
		switch {
		case httpProto && (mode != "PASSTHROUGH" || certs):
			r.report(diag.Error, diag.CodeValidation, res, path+".tls", "use protocol HTTPS to terminate TLS, or keep only httpsRedirect",
				"server cannot have TLS settings for plain text HTTP ports")
			continue
		case !httpProto && !tlsProto:
			r.report(diag.Error, diag.CodeValidation, res, path+".tls", "remove tls, or use protocol HTTPS or TLS",
				"server cannot have TLS settings for non HTTPS/TLS ports")
			continue
		}
		if t.HTTPSRedirect && !httpProto {
			r.report(diag.Warning, diag.CodeValidationWarning, res, path+".tls.httpsRedirect", "remove it: it applies to plain HTTP servers only",
				"tls.httpsRedirect should only be used with http servers")
		}
		if credential && (t.ServerCert != "" || t.PrivateKey != "") {
			// Istio's webhook lets both through; the credential wins there.
			r.report(diag.Error, diag.CodeUnsupported, res, path+".tls", "keep credentialName, or serverCertificate and privateKey, not both",
				diag.UnsupportedPrefix+"only one of credentialName, credentialNames, serverCertificate/privateKey or tlsCertificates may be set")
		}
		if t.CACrl != "" && credential {
			r.report(diag.Error, diag.CodeUnsupported, res, path+".tls.caCrl", "put the CRL in the credential as ca.crl",
				diag.UnsupportedPrefix+"caCrl cannot be combined with credentialName")
		}
		switch mode {
		case "ISTIO_MUTUAL":
			if certs {
				r.report(diag.Error, diag.CodeValidation, res, path+".tls", "remove the certificate fields: ISTIO_MUTUAL uses the mesh's certificates",
					"ISTIO_MUTUAL TLS cannot have associated certificates or credentials")
			}
		case "PASSTHROUGH", "AUTO_PASSTHROUGH":
			if certs {
				r.report(diag.Warning, diag.CodeValidationWarning, res, path+".tls", "remove them, or terminate TLS with mode SIMPLE",
					mode+" mode does not use certificates; they are ignored")
			}
		}
		switch mode {
		case "SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL":
			if (proto == "HTTPS" || proto == "TLS") && !credential && len(t.TLSCertificates) == 0 {
				if t.ServerCert == "" {
					r.report(diag.Error, diag.CodeNoCredentials, res, path+".tls", "add credentialName: NAME, or serverCertificate and privateKey",
						mode+" TLS requires a server certificate")
				}
				if t.PrivateKey == "" {
					r.report(diag.Error, diag.CodeNoCredentials, res, path+".tls", "add credentialName: NAME, or serverCertificate and privateKey",
						mode+" TLS requires a private key")
				}
			}
			if mode != "SIMPLE" && !credential && t.CACertificates == "" && (proto == "HTTPS" || proto == "TLS") {
				r.report(diag.Error, diag.CodeNoCredentials, res, path+".tls.mode", "add caCertificates, or a credentialName whose secret has ca.crt",
					mode+" TLS requires a client CA bundle")
			}
		}
	}
}

// credentials checks that every credentialName of a Gateway exists in
// dir as NAME/tls.crt and NAME/tls.key, as the ingress will read them
// (istioctl: IST0101 for a missing secret). A reference naming no Secret
// of the Gateway's namespace is the compiler's finding (GWC0316).
func (r *reporter) credentials(x *index, dir string) {
	for _, key := range sortedKeys(x.gateways) {
		g := x.gateways[key]
		for i, s := range g.Spec.Servers {
			if s.TLS == nil {
				continue
			}
			check := func(path, ref string) {
				cr := names.ParseCredential(ref)
				if cr.Secret == "" || cr.Problem != "" || cr.Namespace != "" && cr.Namespace != g.Namespace {
					return
				}
				name := cr.Secret
				for _, f := range []string{"tls.crt", "tls.key"} {
					p := filepath.Join(dir, name, f)
					if _, err := os.Stat(p); err != nil {
						r.report(diag.Error, diag.CodeNotFound, g.Resource, path,
							"create "+p+" (from the Kubernetes Secret "+name+"), or fix the name",
							fmt.Sprintf("credential %q not found: no %s in %s", name, f, dir))
						return
					}
				}
			}
			if s.TLS.CredentialName != "" {
				check(fmt.Sprintf("spec.servers[%d].tls.credentialName", i), s.TLS.CredentialName)
			}
			for j, n := range s.TLS.CredentialNames {
				check(fmt.Sprintf("spec.servers[%d].tls.credentialNames[%d]", i, j), n)
			}
		}
	}
}

// knownProtocols are the protocols Istio's protocol.Parse accepts, as the
// schema's #Protocol lists them.
var knownProtocols = map[string]bool{"HTTP": true, "HTTPS": true, "GRPC": true, "GRPC-WEB": true, "HTTP2": true, "MONGO": true,
	"TCP": true, "TLS": true, "REDIS": true, "MYSQL": true, "UDP": true, "HTTP_PROXY": true}
