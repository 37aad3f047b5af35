package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad loads 100 VirtualServices of 10 routes each.
func BenchmarkLoad(b *testing.B) {
	var src strings.Builder
	for i := range 100 {
		fmt.Fprintf(&src, "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs%d, namespace: shop}\nspec:\n  hosts: [h%d.example.com]\n  gateways: [istio-ingress/gw]\n  http:\n", i, i)
		for j := range 10 {
			fmt.Fprintf(&src, "  - match:\n    - uri: {prefix: /p%d/}\n      headers: {x-v: {exact: \"%d\"}}\n    route:\n    - destination: {host: svc%d, port: {number: 8080}}\n      weight: 90\n    - destination: {host: svc%db}\n      weight: 10\n    timeout: 5s\n    retries: {attempts: 2, perTryTimeout: 1s}\n", j, j, j, j)
		}
	}
	path := filepath.Join(b.TempDir(), "vs.yaml")
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res := Load([]string{path}, Options{})
		if len(res.Resources) != 100 || len(res.Diags) != 0 {
			b.Fatalf("got %d resources, diagnostics %v", len(res.Resources), res.Diags)
		}
	}
}
