package runtime

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestRegexCompiledOnFirstUse: Prepare registers each regex source, one
// cell per source, but neither compiles it nor writes it into the match;
// the first request that needs it links and compiles it.
func TestRegexCompiledOnFirstUse(t *testing.T) {
	// Sources no other test, nor an earlier run of this one, used: the
	// registry is process-wide.
	base := freshPrefix()
	srcA, srcC := base+`/a/[0-9]+`, base+`/c/.*`
	vh := preparedVH(t,
		Route{ID: "a", Matches: []Match{{Path: regex(srcA)}}},
		Route{ID: "b", Matches: []Match{{Path: prefix("/b"), Headers: []HeaderMatch{{Name: "x-v", Match: regex(srcA)}}}}},
		Route{ID: "c", Matches: []Match{{Path: regex(srcC)}}},
	)
	a, c := registeredRegex(srcA), registeredRegex(srcC)
	if a == nil || c == nil {
		t.Fatal("Prepare registered no cell")
	}
	if a == c {
		t.Error("two sources share a cell")
	}
	if a.re != nil || c.re != nil {
		t.Fatal("Prepare compiled a regex")
	}
	for _, m := range []*StringMatch{&vh.Routes[0].Matches[0].Path, &vh.Routes[1].Matches[0].Headers[0].Match, &vh.Routes[2].Matches[0].Path} {
		if m.lazy != nil {
			t.Fatalf("Prepare wrote the cell of %q into its match", m.Value)
		}
	}
	if got := vh.Select(httptest.NewRequest("GET", base+"/a/12", nil)); got != 0 {
		t.Fatalf("%s/a/12: route %d, want 0", base, got)
	}
	if a.re == nil {
		t.Error("the regex was not compiled by its first use")
	}
	if p := vh.Routes[0].Matches[0].Path.lazy; p != unsafe.Pointer(a) {
		t.Error("the first use did not link the match to its cell")
	}
	if vh.Routes[1].Matches[0].Headers[0].Match.cell() != a {
		t.Error("two matches of one source have two cells")
	}
	if c.re != nil {
		t.Error("a regex no request reached was compiled")
	}
	if got := vh.Select(httptest.NewRequest("GET", base+"/a/x", nil)); got != -1 {
		t.Errorf("%s/a/x: route %d, want none", base, got)
	}
	unprepared := regex(freshPrefix() + `/.*`)
	if unprepared.MatchString(unprepared.Value[:len(unprepared.Value)-3] + "/x") {
		t.Error("a regex no Prepare accepted matched")
	}
}

var freshCount atomic.Int64

// freshPrefix returns a path no regex registered so far mentions.
func freshPrefix() string {
	return fmt.Sprintf("/fresh-%d", freshCount.Add(1))
}

// TestRegexConcurrentFirstUse: requests racing to be first compile a cell
// once and all see it (run with -race to check the publication).
func TestRegexConcurrentFirstUse(t *testing.T) {
	base := freshPrefix() // sources not compiled yet: the registry is process-wide
	vh := preparedVH(t,
		Route{ID: "a", Matches: []Match{{Path: regex(base + `/a/[0-9]+`)}}},
		Route{ID: "b", Matches: []Match{{Path: regex(base + `/b/[0-9]+`)}}},
	)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want := base+"/a/1", 0
			if g%2 == 1 {
				path, want = base+"/b/2", 1
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

// TestRegexRelinkedAfterChange: a hand-written configuration whose regex
// changes after use is prepared again: the match follows its new source.
func TestRegexRelinkedAfterChange(t *testing.T) {
	base := freshPrefix()
	m := Match{Path: regex(base + `/old/.*`)}
	if err := m.prepare(nil); err != nil {
		t.Fatal(err)
	}
	if !m.Path.MatchString(base + "/old/x") {
		t.Fatal("the first source does not match")
	}
	m.Path.Value = base + `/new/.*`
	if err := m.prepare(nil); err != nil {
		t.Fatal(err)
	}
	if m.Path.MatchString(base+"/old/x") || !m.Path.MatchString(base+"/new/x") {
		t.Error("the match kept its first source after Prepare")
	}
}
