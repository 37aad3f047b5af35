package analyze_test

import (
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// TestIstioRules: the rules of istiorules.go, each on a resource that
// breaks it alone, and the valid forms they must accept.
func TestIstioRules(t *testing.T) {
	const (
		vs  = "kind: VirtualService\nmetadata: {name: v, namespace: shop}\nspec:\n  hosts: [a.example.com]\n  gateways: [gw]\n"
		dr  = "kind: DestinationRule\nmetadata: {name: d, namespace: shop}\nspec:\n  host: web.example.com\n"
		se  = "kind: ServiceEntry\nmetadata: {name: s, namespace: shop}\nspec:\n"
		gw  = "kind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec:\n  servers:\n"
		mtl = "  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: MUTUAL, credentialName: c, "
		rt  = "    route: [{destination: {host: web}}]\n"
	)
	tests := []struct {
		name, doc, field, code, msg string
		sev                         diag.Severity
	}{
		{"bad spki", gw + mtl + "verifyCertificateSpki: [\"not base64!\"]}\n",
			"spec.servers[0].tls.verifyCertificateSpki[0]", "GWC0401", "failed to decode verifyCertificateSpki", diag.Error},
		{"bad cert hash", gw + mtl + "verifyCertificateHash: [\"zz:11\"]}\n",
			"spec.servers[0].tls.verifyCertificateHash[0]", "GWC0401", "failed to decode verifyCertificateHash", diag.Error},
		{"short cert hash", gw + mtl + "verifyCertificateHash: [\"df:9b\"]}\n",
			"spec.servers[0].tls.verifyCertificateHash[0]", "GWC0401", "2 bytes, want the 32 of a SHA-256 digest", diag.Error},
		{"duplicate server name", gw + "  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n    name: s\n  - port: {number: 81, name: http2, protocol: HTTP}\n    hosts: [b.example.com]\n    name: s\n",
			"spec.servers[1].name", "IST0133", "server names must be unique", diag.Warning},
		{"bad match header", vs + "  http:\n  - match: [{headers: {\"x a\": {exact: b}}}]\n" + rt,
			`spec.http[0].match[0].headers["x a"]`, "IST0106", "header name x a is not a valid header name", diag.Error},
		{"empty method prefix", vs + "  http:\n  - match: [{method: {prefix: \"\"}}]\n" + rt,
			"spec.http[0].match[0].method.prefix", "IST0106", `"method": prefix string match should not be empty`, diag.Error},
		{"bad sourceNamespace", vs + "  http:\n  - match: [{sourceNamespace: Shop}]\n" + rt,
			"spec.http[0].match[0].sourceNamespace", "IST0106", "not a valid DNS label", diag.Error},
		{"bad sourceLabels", vs + "  http:\n  - match: [{sourceLabels: {app: \"-x\"}}]\n" + rt,
			"spec.http[0].match[0].sourceLabels.app", "IST0106", `invalid tag value: "-x"`, diag.Error},
		{"sub-millisecond timeout", vs + "  http:\n  - timeout: 1500us\n" + rt,
			"spec.http[0].timeout", "IST0106", "only durations to ms precision are supported", diag.Error},
		{"sub-millisecond connectTimeout", dr + "  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 10.5ms}}}\n",
			"spec.trafficPolicy.connectionPool.tcp.connectTimeout", "IST0106", "only durations to ms precision", diag.Error},
		{"prefix covered", vs + "  http:\n  - match: [{uri: {prefix: /api}}]\n" + rt + "  - match: [{uri: {prefix: /api/v1}}]\n" + rt,
			"spec.http[1].match[0].uri.prefix", "IST0131", `the uri prefix "/api" of spec.http[0].match[0]`, diag.Note},
		{"prefix covered in one rule", vs + "  http:\n  - match: [{uri: {prefix: /a}, headers: {x-v: {prefix: b}}}, {uri: {prefix: /ab}, headers: {x-v: {prefix: b}}}]\n" + rt,
			"spec.http[0].match[1].uri.prefix", "IST0131", `the uri prefix "/a" of spec.http[0].match[0]`, diag.Note},
		{"exportTo duplicate", vs + "  exportTo: [shop, .]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.exportTo[1]", "IST0106", "duplicate entries in exportTo: . and current namespace shop", diag.Error},
		{"exportTo none on VS", vs + "  exportTo: [\"~\"]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.exportTo[0]", "IST0106", "exportTo ~ (none) is not allowed", diag.Error},
		{"exportTo public and more", dr + "  exportTo: [\"*\", shop]\n",
			"spec.exportTo", "IST0106", "cannot have both public (*) and non-public", diag.Error},
		{"exportTo bad namespace", se + "  hosts: [a.example.com]\n  resolution: DNS\n  exportTo: [shop_ns]\n",
			"spec.exportTo[0]", "IST0106", "only .,*, or a valid DNS 1123 label", diag.Error},
		{"exportTo none and more", se + "  hosts: [a.example.com]\n  resolution: DNS\n  exportTo: [\"~\", .]\n",
			"spec.exportTo", "IST0106", "cannot export service entry to no one (~) and someone", diag.Error},
		{"bad subset label key", dr + "  subsets: [{name: v1, labels: {\"a/b/c\": x}}]\n",
			"spec.subsets[0].labels.a/b/c", "IST0106", `invalid tag key: "a/b/c"`, diag.Error},
		{"minimumRingSize with ringHash", dr + "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, minimumRingSize: 1024, ringHash: {minimumRingSize: 1024}}}}\n",
			"spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize", "IST0106", "only one of MinimumRingSize or Maglev/Ringhash", diag.Error},
		{"SE bad address", se + "  hosts: [a.example.com]\n  addresses: [10.0.0.300]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.1}]\n",
			"spec.addresses[0]", "IST0106", `"10.0.0.300" is not a valid IP address`, diag.Error},
		{"SE CIDR with DNS", se + "  hosts: [a.example.com]\n  addresses: [10.0.0.0/24]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n",
			"spec.addresses[0]", "IST0106", "CIDR addresses are allowed only for NONE/STATIC resolution types", diag.Error},
		{"SE DNS wildcard without endpoints", se + "  hosts: [\"*.example.com\"]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n",
			"spec.hosts[0]", "IST0106", "hosts must be FQDN if no endpoints are provided for resolution mode DNS", diag.Error},
		{"SE DYNAMIC_DNS endpoints", se + "  hosts: [\"*.example.com\"]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DYNAMIC_DNS\n  endpoints: [{address: a.example.com}]\n",
			"spec.endpoints", "IST0106", "no endpoints should be provided for resolution type DYNAMIC_DNS", diag.Error},
		{"SE DYNAMIC_DNS host", se + "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DYNAMIC_DNS\n",
			"spec.hosts[0]", "IST0106", "DYNAMIC_DNS resolution requires wildcard hosts", diag.Error},
		{"SE several hosts TCP", se + "  hosts: [a.example.com, b.example.com]\n  ports: [{number: 5432, name: pg, protocol: TCP}]\n  resolution: DNS\n",
			"spec.ports[0]", "IST0106", "multiple hosts provided with non-HTTP, non-TLS ports", diag.Error},
		{"SE endpoint port", se + "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.1, ports: {web: 8080}}]\n",
			"spec.endpoints[0].ports.web", "IST0106", "endpoint port web is not defined by the service entry", diag.Error},
		{"SE endpoint label", se + "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.1, labels: {\"x_\": \"y\"}}]\n",
			"spec.endpoints[0].labels.x_", "IST0106", `invalid tag key: "x_"`, diag.Error},
		{"root VS without hosts", "kind: VirtualService\nmetadata: {name: v, namespace: shop}\nspec:\n  gateways: [gw]\n  http: [{route: [{destination: {host: web}}]}]\n",
			"spec.gateways", "IST0106", "delegate virtual service must have no gateways specified", diag.Error},
		{"delegate with tcp", "kind: VirtualService\nmetadata: {name: v, namespace: shop}\nspec:\n  tcp: [{route: [{destination: {host: web, port: {number: 5432}}}]}]\n",
			"spec.tcp", "IST0106", "delegate virtual service must have no tcp route specified", diag.Error},
		{"SIMPLE without CA", dr + "  trafficPolicy: {tls: {mode: SIMPLE}}\n",
			"spec.trafficPolicy.tls.mode", "IST0128", "has TLS mode set to SIMPLE but no caCertificates", diag.Warning},
		{"SE conflicting protocols", se + "  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n---\napiVersion: networking.istio.io/v1\n" +
			strings.Replace(se, "name: s,", "name: s2,", 1) + "  hosts: [a.example.com]\n  ports: [{number: 80, name: tcp, protocol: TCP}]\n  resolution: DNS\n",
			"spec.ports[0].protocol", "IST0177", "host a.example.com port 80 has protocol TCP here and HTTP in ServiceEntry shop/s", diag.Warning},
		{"port SIMPLE without CA", dr + "  trafficPolicy:\n    portLevelSettings: [{port: {number: 443}, tls: {mode: SIMPLE}}]\n",
			"spec.trafficPolicy.portLevelSettings[0].tls.mode", "IST0129", "for host: web.example.com at port 443", diag.Warning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diags, out := vet(t, "r.yaml", []byte("apiVersion: networking.istio.io/v1\n"+tt.doc))
			for _, d := range diags {
				if d.Field == tt.field && d.Code == tt.code && d.Severity == tt.sev && strings.Contains(d.Message, tt.msg) {
					return
				}
			}
			t.Errorf("want %s %s at %s: %q; got:\n%s", tt.sev, tt.code, tt.field, tt.msg, out)
		})
	}
}

// TestIstioRulesAccept: valid forms of the same fields raise none of
// these findings.
func TestIstioRulesAccept(t *testing.T) {
	doc := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [a.example.com]
    name: one
    tls:
      mode: MUTUAL
      credentialName: c
      verifyCertificateSpki: [Ipk8wz6hgTfPHLm9/Ajo38X8W/hEx8FNaaIUhJ/hEwA=]
      verifyCertificateHash: ["DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA:DF:9B:53:AA"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: shop}
spec:
  hosts: [a.example.com]
  gateways: [gw]
  exportTo: [., other]
  http:
  - match:
    - headers: {":authority": {exact: a}, "@request.auth.claims.group": {exact: g}, x-user_id: {prefix: a}}
      sourceLabels: {app.kubernetes.io/name: web, version: ""}
      sourceNamespace: shop
    - uri: {prefix: /api}
    timeout: 1.5s
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /api}, headers: {x-b: {exact: b}}}, {uri: {prefix: /apis}, method: {exact: POST}}]
    route: [{destination: {host: web}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: s, namespace: shop}
spec:
  hosts: [a.example.com, b.example.com]
  addresses: [10.0.0.0/24, 10.1.0.1]
  exportTo: ["~"]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1, ports: {tls: 8443}, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d, namespace: shop}
spec:
  host: web.example.com
  trafficPolicy: {tls: {mode: SIMPLE, caCertificates: /ca.pem}, loadBalancer: {consistentHash: {httpHeaderName: x, ringHash: {minimumRingSize: 64}}}}
  subsets: [{name: v1, labels: {example.com/track: stable}}]
`
	diags, out := vet(t, "ok.yaml", []byte(doc))
	for _, d := range diags {
		switch d.Code {
		case "IST0106", "IST0131", "IST0133", "IST0128", "IST0129":
			t.Errorf("unexpected %s at %s: %s\n%s", d.Code, d.Field, d.Message, out)
		}
	}
}
