package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// portNames checks Istio's rule that port names are unique within a
// Gateway ("port names in servers must be unique"); servers that repeat
// one port may share its name.
func (r *reporter) portNames(g *gatewayRes) {
	res := g.Resource
	type first struct {
		index, number int
	}
	names := map[string]first{}
	for i, s := range g.Spec.Servers {
		if s.Port.Name == "" {
			continue
		}
		f, ok := names[s.Port.Name]
		if !ok {
			names[s.Port.Name] = first{i, s.Port.Number}
			continue
		}
		if f.number != s.Port.Number {
			r.report(diag.Error, diag.CodeValidation, res, fmt.Sprintf("spec.servers[%d].port.name", i), "give each port its own name",
				fmt.Sprintf("port name %q is already used by spec.servers[%d] for port %d", s.Port.Name, f.index, f.number))
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
// (istioctl: IST0101 for a missing secret).
func (r *reporter) credentials(x *index, dir string) {
	for _, key := range sortedKeys(x.gateways) {
		g := x.gateways[key]
		for i, s := range g.Spec.Servers {
			if s.TLS == nil {
				continue
			}
			check := func(path, name string) {
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
