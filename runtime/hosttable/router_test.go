package hosttable_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// newRouter builds a router over domains as a Gateway's virtual hosts list
// them ("a.example.com", "*.example.com", "*"); domain i gets value i.
func newRouter(tb testing.TB, domains ...string) *hosttable.Router {
	tb.Helper()
	r, err := mph.BuildRouter(domains)
	if err != nil {
		tb.Fatal(err)
	}
	return &r
}

func TestRouterLookup(t *testing.T) {
	r := newRouter(t,
		"webapp.istioinaction.io",  // 0
		"*.istioinaction.io",       // 1
		"*.api.istioinaction.io",   // 2
		"api.istioinaction.io",     // 3
		"catalog.istioinaction.io", // 4
		"*.example.com",            // 5
		"[::1]",                    // 6
		"10.0.0.1",                 // 7
		"*",                        // 8
	)
	for _, c := range []struct {
		host string
		want int32
	}{
		{"webapp.istioinaction.io", 0},
		{"WebApp.IstioInAction.IO", 0},
		{"webapp.istioinaction.io:8080", 0},
		{"WEBAPP.ISTIOINACTION.IO:80", 0},
		{"other.istioinaction.io", 1},
		{"a.b.istioinaction.io", 1},
		{"Other.IstioInAction.io:443", 1},
		{"api.istioinaction.io", 3},        // exact before wildcard
		{"v1.api.istioinaction.io", 2},     // longest suffix wins
		{"x.v1.api.istioinaction.io", 2},   // longest suffix wins
		{"x.v1.API.istioinaction.io:1", 2}, //
		{"catalog.istioinaction.io", 4},
		{"a.example.com", 5},
		{"example.com", 8}, // "*.example.com" needs at least one byte for "*"
		{".example.com", 8},
		{"istioinaction.io", 8},
		{"[::1]", 6},
		{"[::1]:8080", 6},
		{"[::1]junk", 8},
		{"10.0.0.1:443", 7},
		{"webapp.istioinaction.io.", 8},
		{"webapp.istioinaction.iox", 8},
		{"webapp.istioinaction.io:http", 8},
		{"", 8},
		{"nothing.org", 8},
	} {
		if got := r.Lookup(c.host); got != c.want {
			t.Errorf("Lookup(%q) = %d, want %d", c.host, got, c.want)
		}
	}
}

func TestRouterWithoutCatchAll(t *testing.T) {
	r := newRouter(t, "a.example.com", "*.example.com")
	for host, want := range map[string]int32{
		"a.example.com":   0,
		"b.example.com":   1,
		"example.com":     -1,
		"b.example.org":   -1,
		"":                -1,
		"a.example.com:x": -1,
	} {
		if got := r.Lookup(host); got != want {
			t.Errorf("Lookup(%q) = %d, want %d", host, got, want)
		}
	}
	var zero hosttable.Router
	if got := zero.Lookup("a.example.com"); got != 0 {
		t.Errorf("zero Router: Lookup = %d, want its CatchAll 0", got)
	}
	empty := newRouter(t)
	if got := empty.Lookup("a.example.com"); got != -1 {
		t.Errorf("empty Router: Lookup = %d, want -1", got)
	}
}

// referenceLookup is the router semantics written the obvious way.
func referenceLookup(domains []string, host string) int32 {
	host = lowerASCII(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Trim(host[i+1:], "0123456789") == "" &&
		(!strings.HasPrefix(host, "[") || strings.HasSuffix(host[:i], "]")) {
		host = host[:i]
	}
	best, bestLen := int32(-1), -1
	for i, d := range domains {
		switch {
		case d == host:
			return int32(i)
		case d == "*":
			if bestLen < 0 {
				best, bestLen = int32(i), 0
			}
		case strings.HasPrefix(d, "*.") && len(host) > len(d)-1 && strings.HasSuffix(host, d[1:]):
			if len(d) > bestLen {
				best, bestLen = int32(i), len(d)
			}
		}
	}
	return best
}

// lowerASCII lower-cases only 'A'..'Z', as the router does; unlike
// strings.ToLower it leaves other bytes alone.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestRouterMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	labels := []string{"a", "b", "api", "www", "example", "com", "io", "x-y", "c0"}
	host := func() string {
		parts := make([]string, 1+r.IntN(4))
		for i := range parts {
			parts[i] = labels[r.IntN(len(labels))]
		}
		return strings.Join(parts, ".")
	}
	for round := range 200 {
		seen := map[string]bool{}
		var domains []string
		for range r.IntN(30) {
			d := host()
			switch r.IntN(4) {
			case 0:
				d = "*." + d
			case 1:
				if r.IntN(10) == 0 {
					d = "*"
				}
			}
			if !seen[d] {
				seen[d] = true
				domains = append(domains, d)
			}
		}
		router := newRouter(t, domains...)
		for range 100 {
			h := host()
			switch r.IntN(6) {
			case 0:
				h = strings.ToUpper(h)
			case 1:
				h = fmt.Sprintf("%s:%d", h, r.IntN(70000))
			case 2:
				h = "z." + h
			}
			if got, want := router.Lookup(h), referenceLookup(domains, h); got != want {
				t.Fatalf("round %d: domains %q: Lookup(%q) = %d, want %d", round, domains, h, got, want)
			}
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := newRouter(t, "webapp.istioinaction.io", "*.istioinaction.io", "*")
	hosts := []string{
		"webapp.istioinaction.io",
		"WEBAPP.IstioInAction.io:8080",
		"a.b.istioinaction.io",
		"[::1]:8080",
		"nothing.example.org:80",
	}
	for _, h := range hosts {
		if n := testing.AllocsPerRun(100, func() { r.Lookup(h) }); n != 0 {
			t.Errorf("Router.Lookup(%q): %v allocations", h, n)
		}
		if n := testing.AllocsPerRun(100, func() { r.Exact.Lookup(h) }); n != 0 {
			t.Errorf("Table.Lookup(%q): %v allocations", h, n)
		}
	}
}

func TestEmptyTable(t *testing.T) {
	var tab hosttable.Table
	for _, k := range []string{"", "a", "example.com"} {
		if v, ok := tab.Lookup(k); ok {
			t.Errorf("empty table: Lookup(%q) = %d, true", k, v)
		}
	}
}

// FuzzRouterLookup builds a router from the lines of domains (lower-cased,
// duplicates dropped) and checks its answer for host against
// referenceLookup.
func FuzzRouterLookup(f *testing.F) {
	f.Add("a.example.com\n*.example.com\n*", "A.Example.com:8080")
	f.Add("*.example.com\n*.b.example.com", "a.b.example.com")
	f.Add("[::1]\n*.1]", "[::1]:80")
	f.Fuzz(func(t *testing.T, domains, host string) {
		var list []string
		seen := map[string]bool{}
		for _, d := range strings.Split(domains, "\n") {
			if d = lowerASCII(d); !seen[d] {
				seen[d] = true
				list = append(list, d)
			}
		}
		r := newRouter(t, list...)
		if got, want := r.Lookup(host), referenceLookup(list, host); got != want {
			t.Fatalf("domains %q: Lookup(%q) = %d, want %d", list, host, got, want)
		}
	})
}

// TestSuffixLengthsChangeNoAnswer checks the suffix-length bits only save
// work: a router with them answers every Host as the same router without
// them, which looks up every suffix, including suffixes of 256 bytes and
// more, whose length the bits do not record.
func TestSuffixLengthsChangeNoAnswer(t *testing.T) {
	long := strings.Repeat("x", 300) + ".example.com"
	domains := []string{"a.example.com", "*.example.com", "*.b.example.org", "*." + long, "*.c.d.e.example.net"}
	r := newRouter(t, domains...)
	if r.SuffixLengths == [4]uint64{} {
		t.Fatal("BuildRouter set no suffix lengths")
	}
	plain := *r
	plain.SuffixLengths = [4]uint64{}
	hosts := []string{"a.example.com", "x.a.example.com", "x.example.com", "example.com", "y.b.example.org",
		"b.example.org", "z.y.b.example.org", "q." + long, long, "q.c.d.e.example.net", "c.d.e.example.net",
		"nothing.test", "A.EXAMPLE.COM:80", "x.x.x.x.x.example.org"}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var b strings.Builder
		for j := range 1 + rnd.IntN(5) {
			if j > 0 {
				b.WriteByte('.')
			}
			b.WriteString([]string{"a", "b", "c", "d", "e", "example", "com", "org", "net", "x"}[rnd.IntN(10)])
		}
		hosts = append(hosts, b.String())
	}
	for _, h := range hosts {
		if got, want := r.Lookup(h), plain.Lookup(h); got != want {
			t.Errorf("Lookup(%.40q) = %d with suffix lengths, %d without", h, got, want)
		}
	}
}
