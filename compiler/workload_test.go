package compiler_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// TestWorkload: the IR names every credential the binary reads (server
// credentialName, credentialNames, caCertCredentialName, DestinationRule
// credentialName) and the selector labels of the Gateways, each once, so
// that shipping never reads the input again.
func TestWorkload(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "gw.yaml"), []byte(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  selector: {app: edge, "app.kubernetes.io/part-of": shop}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["a.example.com"]
    tls: {mode: MUTUAL, credentialName: a-cert, caCertCredentialName: a-ca}
  - port: {number: 8443, name: https-2, protocol: HTTPS}
    hosts: ["b.example.com"]
    tls: {mode: SIMPLE, credentialNames: [b-rsa, b-ecdsa]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2, namespace: shop}
spec:
  selector: {app: edge}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["a.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: ["a.example.com", "b.example.com"]
  gateways: ["gw", "gw2"]
  http:
  - route:
    - destination: {host: web.example.internal, port: {number: 443}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.example.internal]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: shop}
spec:
  host: web.example.internal
  trafficPolicy:
    tls: {mode: SIMPLE, credentialName: upstream-ca}
`), 0o644)
	t.Chdir(dir)
	res := compiler.Run([]string{"."}, compiler.Options{})
	if res.Config == nil {
		t.Fatalf("does not compile:\n%v", res.Diags)
	}
	w := res.Config.Workload
	if want := []string{"a-ca", "a-cert", "b-ecdsa", "b-rsa", "upstream-ca"}; !slices.Equal(w.Credentials, want) {
		t.Errorf("credentials %q, want %q", w.Credentials, want)
	}
	var got []string
	for _, l := range w.Selector {
		got = append(got, l.Key+"="+l.Value+" "+l.Origin.Resource)
	}
	if want := []string{"app=edge shop/gw", "app.kubernetes.io/part-of=shop shop/gw"}; !slices.Equal(got, want) {
		t.Errorf("selector %q, want %q", got, want)
	}
	if l := w.Selector[1]; l.Origin.Pos.Line != 5 || l.Origin.Pos.Col < 20 {
		t.Errorf("label %s at %s, want the value in line 5", l.Key, l.Origin.Pos)
	}
	dump := ir.Dump(res.Config)
	for _, line := range []string{"\nselector app=edge from gw.yaml:5:", "\ncredential upstream-ca\n"} {
		if !strings.Contains(dump, line) {
			t.Errorf("the IR dump has no %q:\n%s", line[1:], dump)
		}
	}
}
