package compiler_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
)

// TestDirectResponseBodyLimits: Istio refuses a directResponse body over
// 1 MiB; gwc refuses it too and warns over 100 KiB. The bodies are too
// large for a golden file.
func TestDirectResponseBodyLimits(t *testing.T) {
	for _, tc := range []struct {
		size int
		want string // a diagnostic substring, "" for none
	}{
		{100 << 10, ""},
		{100<<10 + 1, "warning IST0133: VirtualService shop/shop: spec.http[0].directResponse.body: directResponse body is 102401 bytes, over 100KiB"},
		{1<<20 + 1, "error IST0106: VirtualService shop/shop: spec.http[0].directResponse.body: directResponse body is 1048577 bytes, over Istio's limit of 1MiB"},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			dir := t.TempDir()
			in := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - directResponse: {status: 200, body: {string: "` + strings.Repeat("x", tc.size) + `"}}
`
			if err := os.WriteFile(filepath.Join(dir, "in.yaml"), []byte(in), 0o644); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range compiler.Run([]string{dir}, compiler.Options{}).Diags {
				got = append(got, d.String())
			}
			all := strings.Join(got, "\n")
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("want no diagnostics, got:\n%s", all)
			case tc.want != "" && !strings.Contains(all, tc.want):
				t.Errorf("want %q, got:\n%s", tc.want, all)
			}
		})
	}
}
