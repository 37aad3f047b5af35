package mph

import (
	"strings"
	"testing"
)

// FuzzBuildLookup builds a table from the lines of keys (lower-cased,
// duplicates dropped) and checks it against a map: every key finds its
// value, probe finds exactly what the map says, and the literal reads back.
func FuzzBuildLookup(f *testing.F) {
	f.Add("webapp.istioinaction.io\ncatalog.istioinaction.io", "WebApp.IstioInAction.io")
	f.Add("a\nb\nc", "d")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, lines, probe string) {
		var keys []string
		want := map[string]int32{}
		for _, k := range strings.Split(lines, "\n") {
			k = asciiCase(k, 'A', 'a')
			if _, dup := want[k]; !dup {
				want[k] = int32(len(keys))
				keys = append(keys, k)
			}
		}
		values := make([]int32, len(keys))
		for i := range values {
			values[i] = int32(i)
		}
		tab, err := Build(keys, values)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if v, ok := tab.Lookup(asciiCase(k, 'a', 'A')); !ok || v != int32(i) {
				t.Fatalf("Lookup(%q) = %d, %v; want %d, true", k, v, ok, i)
			}
		}
		v, ok := tab.Lookup(probe)
		wv, wok := want[asciiCase(probe, 'A', 'a')]
		if ok != wok || v != wv {
			t.Fatalf("Lookup(%q) = %d, %v; want %d, %v", probe, v, ok, wv, wok)
		}
		checkLiteral(t, tab, "hosttable")
	})
}
