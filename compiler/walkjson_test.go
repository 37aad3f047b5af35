package compiler

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/load"
)

// TestWalkJSONMatchesWalk: the JSON walk that checkSupported uses visits
// the same paths and patterns, in the same order, as the walk over CUE
// values it replaced.
func TestWalkJSONMatchesWalk(t *testing.T) {
	dir := t.TempDir()
	doc := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [web]
  http:
  - match:
    - headers: {x-env: {exact: canary}, "a.b/c": {prefix: x}}
      uri: {prefix: /api/}
      sourceLabels: {app: web}
    route:
    - destination: {host: web, port: {number: 8080}}
      weight: 90
    - destination: {host: web2}
      weight: 10
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}
    hosts: ["shop.example.com"]
`
	if err := os.WriteFile(filepath.Join(dir, "in.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	res := load.Load([]string{dir, "../examples"}, load.Options{})
	all := append(res.Resources, res.Rejected...)
	if len(res.Resources) < 3 {
		t.Fatalf("loaded %d resources; diagnostics: %v", len(res.Resources), res.Diags)
	}
	for _, r := range all {
		var want, got []string
		walk(r.Value, "", "", func(p, q string) { want = append(want, p+" "+q) })
		js, err := r.JSON()
		if err != nil {
			t.Fatalf("%s: %v", r.ID(), err)
		}
		if !walkJSON(js, "", func(p, q string) { got = append(got, p+" "+q) }) {
			t.Fatalf("%s: walkJSON failed on %s", r.ID(), js)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: walkJSON visited\n%q\nwalk visited\n%q", r.ID(), got, want)
		}
		// From the spec alone: the same visits under spec.
		spec, err := r.SpecJSON()
		if err != nil {
			t.Fatalf("%s: %v", r.ID(), err)
		}
		var underSpec, gotSpec []string
		for _, w := range want {
			if w == "spec spec" || strings.HasPrefix(w, "spec.") {
				underSpec = append(underSpec, w)
			}
		}
		if !walkJSON(spec, "spec", func(p, q string) { gotSpec = append(gotSpec, p+" "+q) }) || !slices.Equal(gotSpec, underSpec) {
			t.Errorf("%s: walkJSON of the spec visited\n%q\nwant\n%q", r.ID(), gotSpec, underSpec)
		}
	}
}

// TestUnsupportedUnderSpec: checkSupported walks only the spec, so every
// rule must be under it.
func TestUnsupportedUnderSpec(t *testing.T) {
	for kind, rules := range unsupported {
		for pattern := range rules {
			if !strings.HasPrefix(pattern, "spec.") {
				t.Errorf("%s: rule %q is not under spec", kind, pattern)
			}
		}
	}
}
