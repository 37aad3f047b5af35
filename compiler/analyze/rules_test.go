package analyze_test

import (
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/diag"
)

const gatewayHead = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec:\n  servers:\n"

// TestGatewayRules: each Istio Gateway rule the analyzers check, on a
// Gateway that breaks it alone.
func TestGatewayRules(t *testing.T) {
	tests := []struct {
		name, servers, field, code, msg string
		sev                             diag.Severity
	}{
		{"duplicate port name", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [b.example.com]\n",
			"spec.servers[1].port.name", "IST0106", `port name "http" is already used by spec.servers[0]`, diag.Error},
		{"targetPort", "  - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}\n    hosts: [a.example.com]\n",
			"spec.servers[0].port.targetPort", "IST0106", "targetPort has no impact on Gateways", diag.Error},
		{"bad bind", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n    bind: localhost\n",
			"spec.servers[0].bind", "IST0106", "neither an IP address nor a unix socket path", diag.Error},
		{"HTTPS without tls", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n",
			"spec.servers[0].port.protocol", "GWC0307", "server must have TLS settings for HTTPS/TLS protocols", diag.Error},
		{"SIMPLE without certificate", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE}\n",
			"spec.servers[0].tls", "GWC0307", "SIMPLE TLS requires a server certificate", diag.Error},
		{"MUTUAL without CA", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k}\n",
			"spec.servers[0].tls.mode", "GWC0307", "MUTUAL TLS requires a client CA bundle", diag.Error},
		{"TLS on HTTP", "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialName: c}\n",
			"spec.servers[0].tls", "IST0106", "server cannot have TLS settings for plain text HTTP ports", diag.Error},
		{"TLS on TCP", "  - port: {number: 31400, name: tcp, protocol: TCP}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialName: c}\n",
			"spec.servers[0].tls", "IST0106", "server cannot have TLS settings for non HTTPS/TLS ports", diag.Error},
		{"httpsRedirect on HTTPS", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialName: c, httpsRedirect: true}\n",
			"spec.servers[0].tls.httpsRedirect", "IST0133", "should only be used with http servers", diag.Warning},
		{"credential and files", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialName: c, serverCertificate: /c, privateKey: /k}\n",
			"spec.servers[0].tls", "GWC0401", "only one of credentialName", diag.Error},
		{"caCrl with credential", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: MUTUAL, credentialName: c, caCrl: /crl}\n",
			"spec.servers[0].tls.caCrl", "GWC0401", "caCrl cannot be combined with credentialName", diag.Error},
		{"ISTIO_MUTUAL with certificate", "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: ISTIO_MUTUAL, credentialName: c}\n",
			"spec.servers[0].tls", "IST0106", "ISTIO_MUTUAL TLS cannot have associated certificates", diag.Error},
		{"PASSTHROUGH with certificate", "  - port: {number: 443, name: tls, protocol: TLS}\n    hosts: [a.example.com]\n    tls: {mode: PASSTHROUGH, credentialName: c}\n",
			"spec.servers[0].tls", "IST0133", "PASSTHROUGH mode does not use certificates", diag.Warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags, out := vet(t, "gw.yaml", []byte(gatewayHead+tt.servers))
			for _, d := range diags {
				if d.Field == tt.field && d.Code == tt.code && d.Severity == tt.sev && strings.Contains(d.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want %s %s at %s: %q; got:\n%s", tt.sev, tt.code, tt.field, tt.msg, out)
		})
	}
}

// TestVirtualServiceRules: regexes, unreachable rules and subsets.
func TestVirtualServiceRules(t *testing.T) {
	vs := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: shop}\nspec:\n  hosts: [a.example.com]\n  http:\n"
	tests := []struct {
		name, http, field, code, msg string
	}{
		{"empty regex", "  - match: [{uri: {regex: \"\"}}]\n    route: [{destination: {host: web}}]\n", "spec.http[0].match[0].uri.regex", "IST0106", "regex must not be empty"},
		{"long regex", "  - match: [{uri: {regex: \"" + strings.Repeat("a", 1025) + "\"}}]\n    route: [{destination: {host: web}}]\n", "spec.http[0].match[0].uri.regex", "IST0106", "at most 1024"},
		{"backreference", "  - match: [{headers: {x-a: {regex: \"(a)\\\\1\"}}}]\n    route: [{destination: {host: web}}]\n", `spec.http[0].match[0].headers.x-a.regex`, "IST0106", "invalid RE2 regex"},
		{"rewrite regex", "  - rewrite: {uriRegexRewrite: {match: \"[\", rewrite: /x}}\n    route: [{destination: {host: web}}]\n", "spec.http[0].rewrite.uriRegexRewrite.match", "IST0106", "invalid RE2 regex"},
		{"after catch-all prefix", "  - match: [{uri: {prefix: /}}]\n    route: [{destination: {host: web}}]\n  - match: [{uri: {prefix: /a}}]\n    route: [{destination: {host: web}}]\n", "spec.http[1]", "IST0130", "spec.http[0] before it matches every request"},
		{"redirect and rewrite", "  - redirect: {uri: /b}\n    rewrite: {uri: /c}\n", "spec.http[0].rewrite", "IST0106", "cannot contain both redirect and rewrite"},
		{"no action", "  - match: [{uri: {prefix: /a}}]\n", "spec.http[0]", "IST0106", "HTTP route, redirect or direct response is required"},
		{"zero weights", "  - route: [{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]\n", "spec.http[0].route", "IST0106", "the weights of the destinations total 0"},
		{"subset without rule", "  - route: [{destination: {host: web, subset: v2}}]\n", "spec.http[0].route[0].destination.subset", "IST0101", `subset "v2" is not defined by any DestinationRule for host web.shop.svc.cluster.local`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags, out := vet(t, "vs.yaml", []byte(vs+tt.http))
			for _, d := range diags {
				if d.Field == tt.field && d.Code == tt.code && strings.Contains(d.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want %s at %s: %q; got:\n%s", tt.code, tt.field, tt.msg, out)
		})
	}
}

// TestResourceRules: the per-resource rules on hosts, gateways and
// uniqueness.
func TestResourceRules(t *testing.T) {
	tests := []struct {
		name, doc, field, msg string
	}{
		{"duplicate VS hosts", "kind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a.example.com, \"*.example.com\"]\n  gateways: [gw]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.hosts[1]", "duplicate hosts in virtual service: a.example.com & *.example.com"},
		{"mesh wildcard", "kind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [\"*\"]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.hosts[0]", "wildcard host * is not allowed for virtual services bound to the mesh gateway"},
		{"bad gateway name", "kind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a.example.com]\n  gateways: [Istio_System/gw]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.gateways[0]", `invalid gateway name "Istio_System/gw"`},
		{"no routes", "kind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [a.example.com]\n",
			"spec", "http, tcp or tls must be provided in virtual service"},
		{"duplicate SE port", "kind: ServiceEntry\nmetadata: {name: s}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http}, {number: 80, name: http2}]\n  resolution: DNS\n",
			"spec.ports[1].number", "duplicate port number 80"},
		{"duplicate SE port name", "kind: ServiceEntry\nmetadata: {name: s}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http}, {number: 81, name: http}]\n  resolution: DNS\n",
			"spec.ports[1].name", "duplicate port name http"},
		{"duplicate subset", "kind: DestinationRule\nmetadata: {name: d}\nspec:\n  host: web\n  subsets: [{name: v1}, {name: v1}]\n",
			"spec.subsets[1].name", "duplicate subset name v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags, out := vet(t, "r.yaml", []byte("apiVersion: networking.istio.io/v1\n"+tt.doc))
			for _, d := range diags {
				if d.Field == tt.field && d.Code == "IST0106" && strings.Contains(d.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want IST0106 at %s: %q; got:\n%s", tt.field, tt.msg, out)
		})
	}
}

// TestConflictingGateways: two Gateways claiming one host on one port.
func TestConflictingGateways(t *testing.T) {
	doc := gatewayHead + "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n---\n" +
		strings.Replace(gatewayHead, "name: gw,", "name: gw2,", 1) + "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*/a.example.com\"]\n"
	diags, out := vet(t, "gw.yaml", []byte(doc))
	for _, d := range diags {
		if d.Code == "IST0145" && d.Resource == "Gateway shop/gw2" && strings.Contains(d.Message, "host a.example.com on port 80 is also served by Gateway shop/gw") {
			return
		}
	}
	t.Errorf("want IST0145 on shop/gw2; got:\n%s", out)
}
