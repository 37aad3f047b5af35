package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
)

// writeResources writes n resources in 10 files: for every 10, one
// Gateway, five VirtualServices and four ServiceEntries, all valid.
func writeResources(tb testing.TB, dir string, n int) {
	tb.Helper()
	files := make([]strings.Builder, 10)
	for i := 0; i < n/10; i++ {
		b := &files[i%10]
		host := fmt.Sprintf("app%d.example.com", i)
		fmt.Fprintf(b, "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw%d, namespace: ns%d}\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"%s\", \"*.%s\"]\n---\n", i, i%20, host, host)
		for j := 0; j < 5; j++ {
			fmt.Fprintf(b, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs%d-%d, namespace: ns%d}\nspec:\n  hosts: [\"v%d.%s\"]\n  gateways: [gw%d]\n  http:\n", i, j, i%20, j, host, i)
			fmt.Fprintf(b, "  - match: [{uri: {prefix: /api/}}, {headers: {x-env: {exact: canary}}}]\n    route:\n    - destination: {host: svc%d-%d.example.internal, port: {number: 8080}}\n      weight: 90\n    - destination: {host: svc%d-%d.example.internal, port: {number: 8080}}\n      weight: 10\n", i, j%4, i, (j+1)%4)
			fmt.Fprintf(b, "  - match: [{uri: {regex: \"^/v[0-9]+/.*\"}}]\n    route: [{destination: {host: svc%d-%d.example.internal}}]\n  - route: [{destination: {host: svc%d-0.example.internal}}]\n---\n", i, j%4, i)
		}
		for j := 0; j < 4; j++ {
			fmt.Fprintf(b, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se%d-%d, namespace: ns%d}\nspec:\n  hosts: [svc%d-%d.example.internal]\n  ports: [{number: 8080, name: http, protocol: HTTP}]\n  resolution: STATIC\n  endpoints: [{address: 10.0.%d.%d}]\n---\n", i, j, i%20, i, j, i%250, j+1)
		}
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("r%d.yaml", i)), []byte(files[i].String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkVet1000 is gwc vet, without printing, on 1,000 resources
// (100 Gateways, 500 VirtualServices, 400 ServiceEntries).
func BenchmarkVet1000(b *testing.B) {
	dir := b.TempDir()
	writeResources(b, dir, 1000)
	for b.Loop() {
		if diags := compiler.Run([]string{dir}, compiler.Options{Namespace: "default"}).Diags; diags.HasErrors() {
			b.Fatalf("unexpected errors: %v", diags[0])
		}
	}
}

// TestVetManyResources keeps the benchmark's input honest: 1,000 valid
// resources, no errors.
func TestVetManyResources(t *testing.T) {
	dir := t.TempDir()
	writeResources(t, dir, 1000)
	diags := compiler.Run([]string{dir}, compiler.Options{Namespace: "default"}).Diags
	if diags.HasErrors() {
		t.Fatalf("errors: %v", diags[:min(3, len(diags))])
	}
}
