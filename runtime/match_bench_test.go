package runtime

import (
	"fmt"
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
	}
	return "GET", "/", header
}

var benchKinds = []string{"exact", "prefix", "header", "query", "icase", "regex"}

// BenchmarkRouteMatch measures route selection over 10, 1,000 and 10,000
// rules per host, the request taking the last rule.
func BenchmarkRouteMatch(b *testing.B) {
	for _, kind := range benchKinds {
		for _, n := range []int{10, 1000, 10000} {
			if kind == "regex" && n == 10000 {
				continue // compiling 10,000 regexes dominates; 1,000 shows the trend
			}
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
// exact headers, query parameters and case-insensitive prefixes allocates
// nothing.
func TestRouteMatchDoesNotAllocate(t *testing.T) {
	for _, kind := range []string{"exact", "prefix", "header", "query", "icase"} {
		vh := routesOf(t, 100, kind)
		method, target, h := matchRequest(100, kind)
		r := httptest.NewRequest(method, target, nil)
		r.Host = "a.example.com"
		if h[0] != "" {
			r.Header.Set(h[0], h[1])
		}
		if got := vh.Select(r); got != 99 {
			t.Fatalf("%s: selected %d, want 99", kind, got)
		}
		if n := testing.AllocsPerRun(100, func() { vh.Select(r) }); n != 0 {
			t.Errorf("%s: %v allocations per selection, want 0", kind, n)
		}
	}
}
