package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/codegen"
)

// writeStartSize writes the start-and-size configuration of
// bench/driver: one Gateway, one ServiceEntry and n VirtualServices of
// one host each, with an exact, a prefix, a regex and a default route.
func writeStartSize(tb testing.TB, dir string, n int) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: bench\n  namespace: bench\nspec:\n  selector:\n    istio: ingressgateway\n  servers:\n  - port:\n      number: 80\n      name: http\n      protocol: HTTP\n    hosts:\n    - \"*\"\n")
	b.WriteString("---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: backend\n  namespace: bench\nspec:\n  hosts:\n  - backend.bench.svc.cluster.local\n  location: MESH_INTERNAL\n  ports:\n  - number: 8080\n    name: http\n    protocol: HTTP\n  resolution: STATIC\n  endpoints:\n  - address: 127.0.0.1\n    ports:\n      http: 19000\n")
	dest := "    route:\n    - destination:\n        host: backend\n        port:\n          number: 8080\n"
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs-%d\n  namespace: bench\nspec:\n  hosts:\n  - s%05d.size.example.com\n  gateways:\n  - bench\n  http:\n", i, i)
		fmt.Fprintf(&b, "  - match:\n    - uri:\n        exact: /login\n%s  - match:\n    - uri:\n        prefix: /api/\n%s  - match:\n    - uri:\n        regex: \"/items/[0-9]+\"\n%s  - route:\n    - destination:\n        host: backend\n        port:\n          number: 8080\n", dest, dest, dest)
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkBuildPhases is gwc build up to go build (load+validate,
// compile, generate) on the start-and-size configuration, reporting each
// phase's time per build. Profile it with -cpuprofile; the 10,000 case
// takes tens of seconds and gigabytes:
//
//	go test ./cmd/gwc -run '^$' -bench 'BuildPhases/1000$' -benchtime 3x
func BenchmarkBuildPhases(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			writeStartSize(b, dir, n)
			// As gwc build sets it.
			defer debug.SetGCPercent(debug.SetGCPercent(300))
			phases := map[string]time.Duration{}
			b.ResetTimer()
			for b.Loop() {
				var steps strings.Builder
				cfg, diags := compile([]string{dir}, "default", &steps)
				if cfg == nil {
					b.Fatal(diags)
				}
				start := time.Now()
				if _, err := codegen.Generate(cfg); err != nil {
					b.Fatal(err)
				}
				phases["generate"] += time.Since(start)
				// The lines step prints: "gwc: NAME WHAT DURATION".
				for line := range strings.Lines(steps.String()) {
					f := strings.Fields(line)
					if d, err := time.ParseDuration(f[len(f)-1]); err == nil && len(f) > 2 {
						phases[f[1]] += d
					}
				}
			}
			for _, p := range []string{"load+validate", "compile", "generate"} {
				b.ReportMetric(phases[p].Seconds()/float64(b.N), p+"-s/op")
			}
		})
	}
}
