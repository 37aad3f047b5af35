package mph

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBuild measures construction; a million keys run only when named:
// go test -run - -bench 'Build/keys=1000000' ./codegen/mph
func BenchmarkBuild(b *testing.B) {
	sizes := []int{1000, 100000}
	if f := flag.Lookup("test.bench"); f != nil && strings.Contains(f.Value.String(), "keys=1000000") {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			keys := make([]string, n)
			values := make([]int32, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("svc-%d.team-%d.example.com", i, i%50)
				values[i] = int32(i)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(keys, values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
