package runtime

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestExactIndexKeepsOrder: with the index, selection gives the route a
// plain in-order scan gives, whatever mix of exact-path routes, repeated
// paths with other conditions, and non-indexable routes in between.
func TestExactIndexKeepsOrder(t *testing.T) {
	to := []WeightedCluster{{Cluster: 0, Weight: 1}}
	var routes []Route
	for i := range 40 {
		switch i % 5 {
		case 0:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: prefix(fmt.Sprintf("/p/%d", i%10))}}, Clusters: to})
		case 1:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/p/%d", i%10)), Headers: []HeaderMatch{{Name: "x-a", Match: exact("1")}}}}, Clusters: to})
		case 2:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/e/%d", i%7))}}, Clusters: to})
		case 3:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/E/%d", i)), IgnoreCase: true}}, Clusters: to})
		case 4:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/p/%d", i%10))}, {Path: exact("/two")}}, Clusters: to})
		}
	}
	routes = append(routes, Route{ID: "all", Clusters: to})
	cfg := &Config{
		Listeners: []Listener{{Port: 80, Protocol: "HTTP", Hosts: hosts(t, map[string]int32{"a": 0}, nil, -1), VirtualHosts: []VirtualHost{{Domain: "a", Routes: routes}}}},
		Clusters:  []Cluster{staticCluster("a", "127.0.0.1:1")},
	}
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	vh := &cfg.Listeners[0].VirtualHosts[0]
	if vh.index == nil {
		t.Fatal("no index built")
	}
	for _, path := range []string{"/p/1", "/p/2", "/p/6", "/e/2", "/e/5", "/e/0", "/E/3", "/e/3", "/two", "/none", "/p/12"} {
		for _, hdr := range []string{"", "1"} {
			r := httptest.NewRequest("GET", path, nil)
			if hdr != "" {
				r.Header.Set("x-a", hdr)
			}
			want := -1
			for i := range vh.Routes {
				if vh.Routes[i].accepts(r, path) {
					want = i
					break
				}
			}
			if got := vh.Select(r); got != want {
				t.Errorf("%s x-a=%q: index selects %d, a scan %d", path, hdr, got, want)
			}
		}
	}
}

// TestRouteIndexAgreesWithScan compares the indexed selection with the
// plain in-order scan over random tables mixing exact, prefix and regex
// paths (with and without a literal prefix), header and method conditions,
// ignoreUriCase, routes of two matches and catch-alls, on random paths:
// both must pick the same route. It also checks the claim the index rests
// on: a path a regex matches begins with the regex's literal prefix.
func TestRouteIndexAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	segs := []string{"a", "b", "A", "r", "1", "12", "x", "é"}
	randPath := func() string {
		var b strings.Builder
		n := rng.IntN(4)
		for range n {
			b.WriteByte('/')
			b.WriteString(segs[rng.IntN(len(segs))])
		}
		if n == 0 || rng.IntN(4) == 0 {
			b.WriteByte('/')
		}
		return b.String()
	}
	randRegex := func() string {
		p := randPath()
		switch rng.IntN(12) {
		case 0:
			return p + "[0-9]+"
		case 1:
			return p + ".*"
		case 2:
			return p + "(/.*)?"
		case 3:
			return "(" + p + "|" + randPath() + ")"
		case 4:
			return "(?i)" + p
		case 5:
			return ".*" + p
		case 6:
			return "[ab]" + p
		case 7:
			return "(" + p + ")/x"
		case 8:
			return p + `\d`
		case 9:
			return "^" + p + "$"
		case 10:
			return p + "+"
		}
		return p
	}
	randMatch := func() Match {
		var m Match
		switch rng.IntN(9) {
		case 0, 1:
			m.Path = exact(randPath())
		case 2, 3:
			p := randPath()
			m.Path = prefix(p[:1+rng.IntN(len(p))])
		case 4, 5:
			m.Path = regex(randRegex())
		case 6:
			m.Path = prefix(strings.ToUpper(randPath()))
			m.IgnoreCase = true
		case 7:
			m.Path = exact(strings.ToUpper(randPath()))
			m.IgnoreCase = true
		}
		if rng.IntN(5) == 0 {
			m.Headers = []HeaderMatch{{Name: "x-h", Match: exact("1")}}
		}
		if rng.IntN(8) == 0 {
			m.Method = exact("POST")
		}
		return m
	}
	to := []WeightedCluster{{Cluster: 0, Weight: 1}}
	indexed := 0
	const tables = 300
	for ti := range tables {
		var routes []Route
		for ri := range 20 + rng.IntN(60) {
			rt := Route{ID: fmt.Sprint(ri), Clusters: to}
			switch k := rng.IntN(20); {
			case k == 0:
				// a catch-all: no matches
			case k < 4:
				rt.Matches = []Match{randMatch(), randMatch()}
			default:
				rt.Matches = []Match{randMatch()}
			}
			routes = append(routes, rt)
		}
		cfg := &Config{
			Listeners: []Listener{{Port: 80, Protocol: "HTTP", Hosts: hosts(t, map[string]int32{"a": 0}, nil, -1), VirtualHosts: []VirtualHost{{Domain: "a", Routes: routes}}}},
			Clusters:  []Cluster{staticCluster("a", "127.0.0.1:1")},
		}
		if err := cfg.Prepare(); err != nil {
			t.Fatal(err)
		}
		vh := &cfg.Listeners[0].VirtualHosts[0]
		if vh.index != nil {
			indexed++
		}
		for range 100 {
			var path string
			switch rng.IntN(3) {
			case 0:
				path = randPath()
			default:
				// a path near a rule: its value, or past it
				m := vh.Routes[rng.IntN(len(vh.Routes))].Matches
				if len(m) == 0 {
					path = randPath()
					break
				}
				path = m[0].Path.Value
				if path == "" || path[0] != '/' {
					path = randPath()
				}
				if rng.IntN(2) == 0 {
					path += randPath()
				}
			}
			method := "GET"
			if rng.IntN(4) == 0 {
				method = "POST"
			}
			r := httptest.NewRequest(method, "/", nil)
			if rng.IntN(2) == 0 {
				r.Header.Set("x-h", "1")
			}
			want := vh.selectScan(r, path)
			if got := vh.selectPath(r, path); got != want {
				t.Fatalf("table %d, %s %q x-h=%q: index selects %d, a scan %d\nroutes: %s", ti, method, path, r.Header.Get("x-h"), got, want, describeRoutes(vh.Routes))
			}
			for i := range vh.Routes {
				for _, m := range vh.Routes[i].Matches {
					if m.Path.Kind != MatchRegex {
						continue
					}
					if l := m.Path.cell(); l.get().MatchString(path) && !strings.HasPrefix(path, l.prefix) {
						t.Fatalf("regex %q matches %q, which lacks its literal prefix %q", m.Path.Value, path, l.prefix)
					}
				}
			}
		}
	}
	if indexed < tables/2 {
		t.Errorf("only %d of %d tables indexed: the test does not exercise the index", indexed, tables)
	}
}

func describeRoutes(routes []Route) string {
	var b strings.Builder
	for i, rt := range routes {
		fmt.Fprintf(&b, "\n%d:", i)
		for _, m := range rt.Matches {
			fmt.Fprintf(&b, " {%s %q icase=%v hdr=%d method=%q}", m.Path.Kind, m.Path.Value, m.IgnoreCase, len(m.Headers), m.Method.Value)
		}
	}
	return b.String()
}

// TestRouteIndexOrder: a regex, a prefix or an exact rule earlier in the
// table wins over a later one the path also meets, whichever list of the
// index each sits in; routes the index cannot characterise keep their place.
func TestRouteIndexOrder(t *testing.T) {
	routes := []Route{
		{ID: "api-header", Matches: []Match{{Path: prefix("/api/"), Headers: []HeaderMatch{{Name: "x-h", Match: exact("1")}}}}},
		{ID: "users-regex", Matches: []Match{{Path: regex(`/api/v[0-9]+/users`)}}},
		{ID: "users-exact", Matches: []Match{{Path: exact("/api/v1/users")}}},
		{ID: "v1-prefix", Matches: []Match{{Path: prefix("/api/v1/")}}},
		{ID: "folded-regex", Matches: []Match{{Path: regex(`(?i)/API/.*`)}}},
		{ID: "icase-prefix", Matches: []Match{{Path: prefix("/OTHER/"), IgnoreCase: true}}},
		{ID: "two", Matches: []Match{{Path: exact("/x/us")}, {Path: prefix("/x/u")}}},
		{ID: "alternation", Matches: []Match{{Path: regex(`/alt/one|/alt/two`)}}},
		{ID: "root", Matches: []Match{{Path: prefix("/")}}},
	}
	for i := range 16 {
		routes = append(routes, Route{ID: fmt.Sprintf("filler%d", i), Matches: []Match{{Path: exact(fmt.Sprintf("/f/%d", i))}}})
	}
	vh := preparedVH(t, routes...)
	if vh.index == nil {
		t.Fatal("no index built")
	}
	for _, c := range []struct {
		path, header, want string
	}{
		{"/api/v1/users", "", "users-regex"},
		{"/api/v1/users", "1", "api-header"},
		{"/api/v1/x", "", "v1-prefix"},
		{"/api/v2/x", "", "folded-regex"},
		{"/Api/V1/users", "", "folded-regex"},
		{"/other/a", "", "icase-prefix"},
		{"/x/us", "", "two"},
		{"/x/uz", "", "two"},
		{"/alt/two", "", "alternation"},
		{"/alt/three", "", "root"},
		{"/f/3", "", "root"},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		if c.header != "" {
			r.Header.Set("x-h", c.header)
		}
		got := vh.Select(r)
		if got < 0 || vh.Routes[got].ID != c.want {
			t.Errorf("%s x-h=%q: route %d, want %s", c.path, c.header, got, c.want)
		}
	}
}

// TestLiteralPrefix: the prefix the index files a regex under is a literal
// every match begins with; anything it cannot vouch for ends it.
func TestLiteralPrefix(t *testing.T) {
	for _, c := range []struct{ re, want string }{
		{`/r/1/[0-9]+`, "/r/1/"},
		{`/exact`, "/exact"},
		{`(/api)/v1/.*`, "/api/v1/"},
		{`/alt/one|/alt/two`, "/alt/"},
		{`^/anchored$`, "/anchored"},
		{`/a+`, "/"},
		{`/a?b`, "/"},
		{`/é/x.*`, "/é/x"},
		{`(?i)/api`, ""},
		{`/api(?i)/x`, "/api"},
		{`.*`, ""},
		{`[ab]/x`, ""},
		{"/\uFFFD/x", "/"},
		{`\x{FFFD}x`, ""},
	} {
		l, err := regexCache(nil).anchored(c.re)
		if err != nil {
			t.Fatalf("%q: %v", c.re, err)
		}
		if l.prefix != c.want {
			t.Errorf("literal prefix of %q: %q, want %q", c.re, l.prefix, c.want)
		}
	}
}

// TestRouteIndexManyPrefixes: a path with more indexed prefixes than one
// request merges (maxCandidateLists) falls back to the scan, same answer.
func TestRouteIndexManyPrefixes(t *testing.T) {
	var routes []Route
	long := "/" + strings.Repeat("a", 2*maxCandidateLists)
	for n := len(long); n >= 2; n-- {
		m := Match{Path: prefix(long[:n])}
		if n%3 == 0 {
			m.Method = exact("POST") // not every key's route matches
		}
		routes = append(routes, Route{ID: fmt.Sprint(n), Matches: []Match{m}})
	}
	vh := preparedVH(t, routes...)
	if vh.index == nil {
		t.Fatal("no index built")
	}
	for _, p := range []string{long, long[:maxCandidateLists+3], long[:5], "/b"} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, p, nil)
			if got, want := vh.Select(r), vh.selectScan(r, p); got != want {
				t.Errorf("%s %s: index selects %d, a scan %d", method, p, got, want)
			}
		}
	}
}
