package compiler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// TestCheckResources: each resource is judged alone, with every rule of
// Istio's webhook (the cases of issue 17 and what the differential test in
// oracle/ found) and nothing that needs another resource.
func TestCheckResources(t *testing.T) {
	const vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs, namespace: shop}\nspec:\n  hosts: [shop.example.com]\n  gateways: [gw]\n"
	const dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr, namespace: shop}\nspec:\n  host: web\n"
	const route = "  - route: [{destination: {host: web}}]\n"
	for _, c := range []struct {
		name, doc string
		code      string // "" when the resource must pass
		field     string
	}{
		{"redirect changing nothing", vs + "  http:\n  - redirect: {redirectCode: 302}\n", "IST0106", "spec.http[0].redirect"},
		{"redirect code not 3xx", vs + "  http:\n  - redirect: {uri: /x, redirectCode: 200}\n", "IST0106", "spec.http[0].redirect.redirectCode"},
		{"redirect code 0 is 301", vs + "  http:\n  - redirect: {uri: /x, redirectCode: 0}\n", "", ""},
		{"empty namespace", strings.Replace(vs, "namespace: shop", `namespace: ""`, 1) + "  http:\n" + route, "", ""},
		{"DestinationRule for every host", strings.Replace(dr, "host: web", `host: "*"`, 1) + "  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n", "", ""},
		{"cookie ttl under 1ms or negative", dr + "  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: c, ttl: 100ns}}}}\n---\n" +
			strings.Replace(dr, "name: dr,", "name: dr2,", 1) + "  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: c, ttl: -1s}}}}\n", "", ""},
		{"ServiceEntry port with an empty protocol", "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: shop}\nspec:\n  hosts: [api.example.com]\n  ports: [{number: 80, name: http, protocol: \"\"}]\n  resolution: DNS\n", "", ""},
		{"port-level settings for port 0", dr + "  trafficPolicy: {portLevelSettings: [{port: {number: 0}, loadBalancer: {simple: RANDOM}}]}\n", "", ""},
		{"zero timeout", vs + "  http:\n" + route + "    timeout: 0s\n", "IST0106", "spec.http[0].timeout"},
		{"negative maxConnections", dr + "  trafficPolicy: {connectionPool: {tcp: {maxConnections: -1}}}\n", "IST0106", "spec.trafficPolicy.connectionPool.tcp.maxConnections"},
		{"set :path", vs + "  http:\n" + route + "    headers: {request: {set: {\":path\": /x}}}\n", "IST0106", "spec.http[0].headers.request.set.:path"},
		{"numeric last label", vs + "  http:\n  - route: [{destination: {host: web.example.1}}]\n", "IST0106", "spec.http[0].route[0].destination.host"},
		{"CORS header name", vs + "  http:\n" + route + "    corsPolicy: {allowHeaders: [\"x y\"]}\n", "IST0106", "spec.http[0].corsPolicy.allowHeaders[0]"},
		{"TCP rule without route", vs + "  tcp:\n  - match: [{port: 3306}]\n", "IST0106", "spec.tcp[0]"},
		{"TLS rule without route", vs + "  tls:\n  - match: [{sniHosts: [shop.example.com]}]\n", "IST0106", "spec.tls[0]"},
		{"idle timeout 0s", dr + "  trafficPolicy: {connectionPool: {http: {idleTimeout: 0s}}}\n", "IST0106", "spec.trafficPolicy.connectionPool.http.idleTimeout"},
		{"AUTO_PASSTHROUGH", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec:\n  servers:\n  - port: {number: 443, name: tls, protocol: TLS}\n    hosts: [\"*.example.com\"]\n    tls: {mode: AUTO_PASSTHROUGH}\n",
			"GWC0401", "spec.servers[0].tls.mode"},
		// Cross-resource findings are not for --resource-only: the gateway,
		// the destination and its subset exist nowhere here.
		{"references", vs + "  http:\n  - route: [{destination: {host: web, subset: v1}}]\n", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "r.yaml")
			if err := os.WriteFile(file, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			res := load.Load([]string{file}, load.Options{Namespace: "default"})
			ds := append(res.Diags, compiler.CheckResources(res.Resources, res.Rejected)...)
			var errs []string
			found := false
			for _, d := range ds {
				if d.Severity != diag.Error {
					continue
				}
				errs = append(errs, d.Code+" "+d.Field+": "+d.Message)
				if d.Code == c.code && d.Field == c.field {
					found = true
					if d.Code == diag.CodeUnsupported && !strings.HasPrefix(d.Message, diag.UnsupportedPrefix) {
						t.Errorf("GWC0401 message %q does not say it is valid in Istio", d.Message)
					}
				}
			}
			switch {
			case c.code == "" && len(errs) > 0:
				t.Errorf("want no error, got:\n%s", strings.Join(errs, "\n"))
			case c.code != "" && !found:
				t.Errorf("want %s at %s, got:\n%s", c.code, c.field, strings.Join(errs, "\n"))
			}
		})
	}
}
