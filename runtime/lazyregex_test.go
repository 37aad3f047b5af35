package runtime

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRegexCompiledOnFirstUse: Prepare compiles no regex; matches with the
// same source share one cell, compiled by the first request that needs it.
func TestRegexCompiledOnFirstUse(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "a", Matches: []Match{{Path: regex(`/a/[0-9]+`)}}},
		Route{ID: "b", Matches: []Match{{Path: prefix("/b"), Headers: []HeaderMatch{{Name: "x-v", Match: regex(`/a/[0-9]+`)}}}}},
		Route{ID: "c", Matches: []Match{{Path: regex(`/c/.*`)}}},
	)
	a, b, c := vh.Routes[0].Matches[0].Path.lazy, vh.Routes[1].Matches[0].Headers[0].Match.lazy, vh.Routes[2].Matches[0].Path.lazy
	if a == nil || c == nil {
		t.Fatal("a regex match has no cell after Prepare")
	}
	if a != b {
		t.Error("two matches of one source have two cells")
	}
	if a == c {
		t.Error("two sources share a cell")
	}
	if a.re != nil || c.re != nil {
		t.Fatal("Prepare compiled a regex")
	}
	if got := vh.Select(httptest.NewRequest("GET", "/a/12", nil)); got != 0 {
		t.Fatalf("/a/12: route %d, want 0", got)
	}
	if a.re == nil {
		t.Error("the regex was not compiled by its first use")
	}
	if c.re != nil {
		t.Error("a regex no request reached was compiled")
	}
	if got := vh.Select(httptest.NewRequest("GET", "/a/x", nil)); got != -1 {
		t.Errorf("/a/x: route %d, want none", got)
	}
}

// TestRegexConcurrentFirstUse: requests racing to be first compile a cell
// once and all see it (run with -race to check the publication).
func TestRegexConcurrentFirstUse(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "a", Matches: []Match{{Path: regex(`/a/[0-9]+`)}}},
		Route{ID: "b", Matches: []Match{{Path: regex(`/b/[0-9]+`)}}},
	)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want := "/a/1", 0
			if g%2 == 1 {
				path, want = "/b/2", 1
			}
			for range 50 {
				if got := vh.Select(httptest.NewRequest("GET", path, nil)); got != want {
					errs <- path
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for p := range errs {
		t.Errorf("%s: wrong route under concurrent first use", p)
	}
}

// TestPrepareReportsBadRegex: with compiling deferred, Prepare still
// rejects a regex RE2 does not accept, wherever it is, with its source.
func TestPrepareReportsBadRegex(t *testing.T) {
	for _, m := range []Match{
		{Path: regex(`/a/(`)},
		{Path: prefix("/"), Headers: []HeaderMatch{{Name: "x-a", Match: regex(`[z-a]`)}}},
		{Path: prefix("/"), Query: []QueryMatch{{Name: "q", Match: regex(`a{2,1}`)}}},
		{Path: prefix("/"), WithoutHeaders: []HeaderMatch{{Name: "x-b", Match: regex(`(?<`)}}},
		{Path: prefix("/"), Method: regex(`\8`)},
		{Path: regex(`x{1001}`)},
	} {
		cfg := &Config{
			Listeners: []Listener{{Port: 80, Protocol: "HTTP", VirtualHosts: []VirtualHost{{Domain: "*", Routes: []Route{{ID: "r", Matches: []Match{m}, Clusters: []WeightedCluster{{Cluster: 0, Weight: 1}}}}}}}},
			Clusters:  []Cluster{staticCluster("a", "127.0.0.1:1")},
		}
		cfg.Listeners[0].Hosts.CatchAll = 0
		err := cfg.Prepare()
		if err == nil || !strings.Contains(err.Error(), "compiling regex") {
			t.Errorf("%+v: Prepare = %v, want a regex error", m, err)
		}
	}
	cors := &CORS{AllowOrigins: []StringMatch{regex(`(`)}}
	if err := cors.prepare(); err == nil {
		t.Error("a bad CORS origin regex passed")
	}
}
