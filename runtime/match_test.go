package runtime

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func exact(v string) StringMatch  { return StringMatch{Kind: MatchExact, Value: v} }
func prefix(v string) StringMatch { return StringMatch{Kind: MatchPrefix, Value: v} }
func regex(v string) StringMatch  { return StringMatch{Kind: MatchRegex, Value: v} }

// prepared returns a one-listener config around vh, prepared.
func preparedVH(t testing.TB, routes ...Route) *VirtualHost {
	t.Helper()
	cfg := &Config{
		Listeners: []Listener{{Port: 80, Protocol: "HTTP", VirtualHosts: []VirtualHost{{Domain: "*", Routes: routes}}}},
		Clusters:  []Cluster{{Name: "c", Endpoints: []Endpoint{{Address: "127.0.0.1:1"}}}},
	}
	cfg.Listeners[0].Hosts.CatchAll = 0
	for i := range routes {
		if routes[i].Clusters == nil {
			cfg.Listeners[0].VirtualHosts[0].Routes[i].Clusters = []WeightedCluster{{Cluster: 0, Weight: 100}}
		}
	}
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	return &cfg.Listeners[0].VirtualHosts[0]
}

func TestSelect(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "exact", Matches: []Match{{Path: exact("/exact")}}},
		Route{ID: "regex", Matches: []Match{{Path: regex(`/items/[0-9]+`)}}},
		Route{ID: "method", Matches: []Match{{Path: prefix("/m"), Method: exact("POST")}}},
		Route{ID: "header", Matches: []Match{{Path: prefix("/h"), Headers: []HeaderMatch{{Name: "X-Version", Match: exact("v2")}}}}},
		Route{ID: "header-prefix", Matches: []Match{{Path: prefix("/h"), Headers: []HeaderMatch{{Name: "x-user", Match: prefix("adm")}}}}},
		Route{ID: "header-regex", Matches: []Match{{Path: prefix("/h"), Headers: []HeaderMatch{{Name: "x-id", Match: regex(`[a-f]+`)}}}}},
		Route{ID: "present", Matches: []Match{{Path: prefix("/h"), Headers: []HeaderMatch{{Name: "x-debug"}}}}},
		Route{ID: "authority", Matches: []Match{{Headers: []HeaderMatch{{Name: ":authority", Match: exact("a.example.com:8080")}}}}},
		Route{ID: "or", Matches: []Match{{Path: exact("/one")}, {Path: exact("/two")}}},
		Route{ID: "api", Matches: []Match{{Path: prefix("/api")}}},
	)
	tests := []struct {
		method, target string
		header         http.Header
		host           string
		want           string
	}{
		{"GET", "/exact", nil, "", "exact"},
		{"GET", "/exact?q=1", nil, "", "exact"}, // query is not part of the path
		{"GET", "/exact/", nil, "", ""},
		{"GET", "/x/../exact", nil, "", "exact"}, // normalised first
		{"GET", "/items/42", nil, "", "regex"},
		{"GET", "/items/42x", nil, "", ""}, // regex is a full match
		{"GET", "/x/items/42", nil, "", ""},
		{"POST", "/m", nil, "", "method"},
		{"GET", "/m", nil, "", ""},
		{"GET", "/h", http.Header{"X-Version": {"v2"}}, "", "header"},
		{"GET", "/h", http.Header{"X-Version": {"v1"}}, "", ""},
		{"GET", "/h", http.Header{"X-Version": {"v2", "v3"}}, "", ""}, // joined "v2,v3"
		{"GET", "/h", http.Header{"X-User": {"admin"}}, "", "header-prefix"},
		{"GET", "/h", http.Header{"X-User": {"ad", "min"}}, "", ""},
		{"GET", "/h", http.Header{"X-User": {"adm", "x"}}, "", "header-prefix"},
		{"GET", "/h", http.Header{"X-Id": {"abc"}}, "", "header-regex"},
		{"GET", "/h", http.Header{"X-Id": {"abc", "def"}}, "", ""}, // "abc,def"
		{"GET", "/h", http.Header{"X-Debug": {""}}, "", "present"},
		{"GET", "/h", nil, "", ""},
		{"GET", "/anything", nil, "a.example.com:8080", "authority"},
		{"GET", "/anything", nil, "a.example.com", ""},
		{"GET", "/two", nil, "", "or"},
		{"GET", "/apifoo", nil, "", "api"}, // prefix is not segment-aware
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		for k, v := range tt.header {
			r.Header[k] = v
		}
		if tt.host != "" {
			r.Host = tt.host
		}
		got := ""
		if i := vh.Select(r); i >= 0 {
			got = vh.Routes[i].ID
		}
		if got != tt.want {
			t.Errorf("%s %s %v host %q: route %q, want %q", tt.method, tt.target, tt.header, tt.host, got, tt.want)
		}
	}
}

func TestSelectFirstMatchWinsAndEmptyMatchesAll(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "a", Matches: []Match{{Path: prefix("/a")}}},
		Route{ID: "all"},
		Route{ID: "never", Matches: []Match{{Path: prefix("/")}}},
	)
	for _, target := range []string{"/a", "/b", "/"} {
		i := vh.Select(httptest.NewRequest("GET", target, nil))
		want := "all"
		if target == "/a" {
			want = "a"
		}
		if i < 0 || vh.Routes[i].ID != want {
			t.Errorf("%s: route %d, want %q", target, i, want)
		}
	}
}

func TestPseudoHeaders(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "path", Matches: []Match{{Headers: []HeaderMatch{{Name: ":path", Match: exact("/p?x=1")}}}}},
		Route{ID: "method", Matches: []Match{{Headers: []HeaderMatch{{Name: ":method", Match: exact("PUT")}}}}},
		Route{ID: "scheme", Matches: []Match{{Path: exact("/s"), Headers: []HeaderMatch{{Name: ":scheme", Match: exact("http")}}}}},
	)
	for target, want := range map[string]string{"/p?x=1": "path", "/s": "scheme"} {
		if i := vh.Select(httptest.NewRequest("GET", target, nil)); i < 0 || vh.Routes[i].ID != want {
			t.Errorf("%s: route %d, want %q", target, i, want)
		}
	}
	if i := vh.Select(httptest.NewRequest("PUT", "/z", nil)); i < 0 || vh.Routes[i].ID != "method" {
		t.Errorf("PUT: route %d, want method", i)
	}
}

func TestMatchesExported(t *testing.T) {
	m := Match{Path: prefix("/api"), Headers: []HeaderMatch{{Name: "x-a", Match: exact("1")}}}
	if err := m.prepare(nil); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.Header.Set("X-A", "1")
	if !m.Matches(r) {
		t.Error("Matches = false, want true")
	}
	r.Header.Set("X-A", "2")
	if m.Matches(r) {
		t.Error("Matches = true with a wrong header")
	}
}

// Exact and prefix paths and exact headers must not allocate.
func TestSelectDoesNotAllocate(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "exact", Matches: []Match{{Path: exact("/exact")}}},
		Route{ID: "hdr", Matches: []Match{{Path: prefix("/api"), Method: exact("GET"), Headers: []HeaderMatch{
			{Name: "x-version", Match: exact("v2")},
			{Name: "x-multi", Match: exact("a,b")},
		}}}},
		Route{ID: "prefix", Matches: []Match{{Path: prefix("/static/")}}},
	)
	r1 := httptest.NewRequest("GET", "/static/css/site.css?v=3", nil)
	r2 := httptest.NewRequest("GET", "/api/users", nil)
	r2.Header.Set("X-Version", "v2")
	r2.Header["X-Multi"] = []string{"a", "b"}
	for _, tc := range []struct {
		r    *http.Request
		want string
	}{{r1, "prefix"}, {r2, "hdr"}} {
		allocs := testing.AllocsPerRun(200, func() {
			if i := vh.Select(tc.r); i < 0 || vh.Routes[i].ID != tc.want {
				t.Fatalf("route %d, want %s", i, tc.want)
			}
		})
		if allocs != 0 {
			t.Errorf("Select(%s) allocates %v times per call", tc.want, allocs)
		}
	}
}

func TestJoinedHelpers(t *testing.T) {
	lists := [][]string{{"a"}, {"a", "b"}, {"ab", "c"}, {"", "x"}, {"a", ""}, {"a", "b", "c"}}
	wants := []string{"", "a", "a,", "a,b", "a,b,", "ab", "ab,c", ",x", "a,", "a,b,c", "a,bc", "x"}
	for _, l := range lists {
		joined := strings.Join(l, ",")
		for _, w := range wants {
			if got := joinedEqual(l, w); got != (joined == w) {
				t.Errorf("joinedEqual(%q, %q) = %v", l, w, got)
			}
			if got := joinedHasPrefix(l, w); got != strings.HasPrefix(joined, w) {
				t.Errorf("joinedHasPrefix(%q, %q) = %v", l, w, got)
			}
		}
	}
}

func TestPrepareErrors(t *testing.T) {
	cfg := &Config{
		Listeners: []Listener{{Port: 0, Protocol: "UDP", VirtualHosts: []VirtualHost{{Domain: "*", Routes: []Route{{
			ID:       "r",
			Matches:  []Match{{Path: regex("(")}, {Headers: []HeaderMatch{{Name: ":status"}}}},
			Clusters: []WeightedCluster{{Cluster: 5}},
		}}}}}},
		Clusters: []Cluster{{Name: "static", Endpoints: []Endpoint{{Address: "example.com:80"}}}},
	}
	err := cfg.Prepare()
	if err == nil {
		t.Fatal("Prepare accepted a broken config")
	}
	for _, want := range []string{"port out of range", `protocol "UDP"`, "compiling regex", "unknown pseudo-header", "cluster index 5", "is not IP:port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct{ target, want string }{
		{"/a/b?x=1", "/a/b"},
		{"/a/b", "/a/b"},
		{"/a?", "/a"},
		{"http://example.com/x/y?q", "/x/y"},
		{"http://example.com", "/"},
		{"http://example.com?q=1", "/"},
		{"*", "*"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RequestURI = tt.target
		if got := requestPath(r); got != tt.want {
			t.Errorf("requestPath(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
	// A request built in process has no RequestURI.
	r := httptest.NewRequest("GET", "http://h/a%2Fb?q", nil)
	r.RequestURI = ""
	if got := requestPath(r); got != "/a%2Fb" {
		t.Errorf("requestPath(client request) = %q, want /a%%2Fb", got)
	}
}
