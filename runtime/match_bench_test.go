package runtime

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// routesOf builds a prepared virtual host of n routes of one kind, the
// request matching only the last one: the worst case of a linear scan.
func routesOf(tb testing.TB, n int, kind string) *VirtualHost {
	vh := &VirtualHost{Domain: "a.example.com"}
	for i := range n {
		var m Match
		switch kind {
		case "exact":
			m.Path = exact(fmt.Sprintf("/svc/%d", i))
		case "prefix":
			m.Path = prefix(fmt.Sprintf("/svc/%d/", i))
		case "header":
			m.Path = prefix("/svc/")
			m.Headers = []HeaderMatch{{Name: "x-tenant", Match: exact(fmt.Sprintf("t%d", i))}}
		case "regex":
			m.Path = regex(fmt.Sprintf("/svc/%d/[0-9]+", i))
		case "query":
			m.Path = prefix("/svc/")
			m.Query = []QueryMatch{{Name: "tenant", Match: exact(fmt.Sprintf("t%d", i))}}
		case "icase":
			m.Path = prefix(fmt.Sprintf("/SVC/%d/", i))
			m.IgnoreCase = true
		case "mixed":
			m.Path = mixedRule(i)
		}
		vh.Routes = append(vh.Routes, Route{ID: fmt.Sprint(i), Matches: []Match{m}, Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}})
	}
	cfg := &Config{
		Listeners: []Listener{{Port: 80, Protocol: "HTTP", Hosts: hosts(tb, map[string]int32{"a.example.com": 0}, nil, -1), VirtualHosts: []VirtualHost{*vh}}},
		Clusters:  []Cluster{staticCluster("a", "127.0.0.1:1")},
	}
	if err := cfg.Prepare(); err != nil {
		tb.Fatal(err)
	}
	return &cfg.Listeners[0].VirtualHosts[0]
}

// matchRequest returns a request that only the last of n routes of kind
// accepts.
func matchRequest(n int, kind string) (method, target string, header [2]string) {
	last := n - 1
	switch kind {
	case "exact":
		return "GET", fmt.Sprintf("/svc/%d", last), header
	case "prefix", "icase":
		return "GET", fmt.Sprintf("/svc/%d/items", last), header
	case "header":
		return "GET", "/svc/x", [2]string{"X-Tenant", fmt.Sprintf("t%d", last)}
	case "regex":
		return "GET", fmt.Sprintf("/svc/%d/42", last), header
	case "query":
		return "GET", fmt.Sprintf("/svc/x?a=1&tenant=t%d", last), header
	case "mixed":
		return "GET", mixedPath(last), header
	}
	return "GET", "/", header
}

var benchKinds = []string{"exact", "prefix", "header", "query", "icase", "regex"}

// mixedRule is rule i of bench/driver's `routes` scenario: exact /e/I,
// prefix /p/I/ and regex ^/r/I/[0-9]+$ in turn.
func mixedRule(i int) StringMatch {
	switch i % 3 {
	case 0:
		return exact(fmt.Sprintf("/e/%d", i))
	case 1:
		return prefix(fmt.Sprintf("/p/%d/", i))
	}
	return regex(fmt.Sprintf("/r/%d/[0-9]+", i))
}

// mixedPath is a path only rule i of the mixed table takes.
func mixedPath(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf("/e/%d", i)
	case 1:
		return fmt.Sprintf("/p/%d/item", i)
	}
	return fmt.Sprintf("/r/%d/42", i)
}

// BenchmarkRouteMatchMixed is bench/driver's `routes` scenario without the
// network: one host of n rules (exact, prefix and regex in turn), the
// requests cycling over 30 rules spread across the table. ns/op is per
// request.
func BenchmarkRouteMatchMixed(b *testing.B) {
	for _, n := range []int{30, 1000, 10000} {
		b.Run(fmt.Sprintf("routes/%d", n), func(b *testing.B) {
			vh := routesOf(b, n, "mixed")
			var reqs []*http.Request
			var want []int
			for k := range 30 {
				i := k * n / 30
				r := httptest.NewRequest("GET", mixedPath(i), nil)
				r.Host = "a.example.com"
				reqs, want = append(reqs, r), append(want, i)
			}
			for k, r := range reqs { // compile the regexes a request meets
				if got := vh.Select(r); got != want[k] {
					b.Fatalf("%s: route %d, want %d", r.URL.Path, got, want[k])
				}
			}
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				if vh.Select(reqs[k]) != want[k] {
					b.Fatal("wrong route")
				}
				if k++; k == len(reqs) {
					k = 0
				}
			}
		})
	}
}

// BenchmarkRouteMatch measures route selection over 10, 1,000 and 10,000
// rules per host, the request taking the last rule.
func BenchmarkRouteMatch(b *testing.B) {
	for _, kind := range benchKinds {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				vh := routesOf(b, n, kind)
				method, target, h := matchRequest(n, kind)
				r := httptest.NewRequest(method, target, nil)
				r.Host = "a.example.com"
				if h[0] != "" {
					r.Header.Set(h[0], h[1])
				}
				b.ReportAllocs()
				for b.Loop() {
					if vh.Select(r) != n-1 {
						b.Fatal("wrong route")
					}
				}
			})
		}
	}
}

// TestRouteMatchDoesNotAllocate: selection over exact and prefix paths,
// exact headers, query parameters, case-insensitive prefixes, regexes
// (once compiled by their first use) and the mixed table, indexed or not
// (10 rules are scanned; 98 to 100 indexed, the last a prefix, a regex or
// an exact rule), allocates nothing.
func TestRouteMatchDoesNotAllocate(t *testing.T) {
	for _, c := range []struct {
		kind string
		n    int
	}{
		{"exact", 100}, {"prefix", 100}, {"header", 100}, {"query", 100}, {"icase", 100},
		{"regex", 100}, {"regex", 10}, {"mixed", 100}, {"mixed", 98}, {"mixed", 99}, {"mixed", 10},
	} {
		kind, n := c.kind, c.n
		vh := routesOf(t, n, kind)
		method, target, h := matchRequest(n, kind)
		r := httptest.NewRequest(method, target, nil)
		r.Host = "a.example.com"
		if h[0] != "" {
			r.Header.Set(h[0], h[1])
		}
		if got := vh.Select(r); got != n-1 {
			t.Fatalf("%s/%d: selected %d, want %d", kind, n, got, n-1)
		}
		if (vh.index != nil) != (n >= indexMin && kind != "icase") {
			t.Errorf("%s/%d: index built: %v", kind, n, vh.index != nil)
		}
		if raceEnabled && (kind == "regex" || kind == "mixed") {
			continue
		}
		if a := testing.AllocsPerRun(100, func() { vh.Select(r) }); a != 0 {
			t.Errorf("%s/%d: %v allocations per selection, want 0", kind, n, a)
		}
	}
}
