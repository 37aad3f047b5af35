package runtime

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// hostStates returns the preparation state of each virtual host of
// listener li; nil when the listener prepares them at start.
func hostStates(cfg *Config, li int) []uint32 {
	lz := cfg.Listeners[li].lazy
	if lz == nil {
		return nil
	}
	out := make([]uint32, len(lz.ready))
	for i := range lz.ready {
		out[i] = lz.ready[i].Load()
	}
	return out
}

// TestGeneratedHostPreparedOnFirstRequest: a generated configuration's
// virtual hosts are left unprepared by Prepare, and the first request to
// each prepares it: regexes, header keys and methods all match as they do
// when Prepare does the work at start (TestRouting).
func TestGeneratedHostPreparedOnFirstRequest(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	cfg := routingConfig(t, hostPort(a), hostPort(b))
	cfg.Generated = true
	g := startGateway(t, cfg)
	if got := hostStates(cfg, 0); len(got) != 2 || got[0] != hostPending || got[1] != hostPending {
		t.Fatalf("after start, host states %v, want both pending", got)
	}
	if h := &cfg.Listeners[0].VirtualHosts[0].Routes[3].Matches[0].Headers[0]; h.key != "" {
		t.Fatalf("Prepare set the header key %q of a host it should have left", h.key)
	}
	c := client()
	tests := []struct {
		method, host, target string
		header               http.Header
		want                 string
	}{
		{"GET", "a.example.com", "/items/7", nil, "B"}, // the first request: a regex route
		{"GET", "a.example.com", "/exact", nil, "A"},
		{"GET", "a.example.com", "/items/7a", nil, "404"},
		{"POST", "a.example.com", "/m", nil, "B"},
		{"GET", "a.example.com", "/h", http.Header{"X-Version": {"v2"}}, "B"},
		{"GET", "a.example.com", "/h", http.Header{"X-Version": {"v1"}}, "404"},
		{"GET", "unknown.example.com", "/exact", nil, "404"},
	}
	for _, tt := range tests {
		resp, body := g.do(t, c, 80, tt.method, tt.host, tt.target, tt.header)
		if tt.want == "404" {
			if resp.StatusCode != 404 {
				t.Errorf("%s %s%s: %d, want 404", tt.method, tt.host, tt.target, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s %s%s: %d %q, want 200", tt.method, tt.host, tt.target, resp.StatusCode, body)
			continue
		}
		if s := seenBy(t, body); s.Backend != tt.want {
			t.Errorf("%s %s%s: reached %s, want %s", tt.method, tt.host, tt.target, s.Backend, tt.want)
		}
	}
	if got := hostStates(cfg, 0); got[0] != hostReady || got[1] != hostPending {
		t.Errorf("host states %v, want the requested host ready and the other pending", got)
	}
	resp, body := g.do(t, c, 80, "GET", "x.wild.example.com", "/", nil)
	if resp.StatusCode != 200 || seenBy(t, body).Backend != "B" {
		t.Errorf("first request to the wildcard host: %d %q", resp.StatusCode, body)
	}
	if got := hostStates(cfg, 0); got[1] != hostReady {
		t.Errorf("host states %v, want the wildcard host ready", got)
	}
}

// manyHostsConfig has n hosts h<i>.example.com, each with enough routes to
// be indexed (exact, prefix and regex paths, a header condition), each
// answering directly with its host and route, and generated.
func manyHostsConfig(t testing.TB, n int) *Config {
	exactHosts := map[string]int32{}
	cfg := &Config{Generated: true, Clusters: []Cluster{{Name: "c", Endpoints: []Endpoint{{Address: "127.0.0.1:1"}}}}}
	l := Listener{Port: 80, Protocol: "HTTP"}
	for i := range n {
		domain := fmt.Sprintf("h%d.example.com", i)
		exactHosts[domain] = int32(i)
		vh := VirtualHost{Domain: domain}
		answer := func(ri int) *DirectResponse {
			return &DirectResponse{Status: 200, Body: fmt.Sprintf("%s route %d", domain, ri)}
		}
		for ri := range indexMin {
			vh.Routes = append(vh.Routes, Route{
				ID:             fmt.Sprintf("h%d r%d", i, ri),
				Matches:        []Match{{Path: exact(fmt.Sprintf("/e/%d", ri))}, {Path: regex(fmt.Sprintf("/r/%d/[0-9]+", ri))}},
				DirectResponse: answer(ri),
			})
		}
		vh.Routes = append(vh.Routes,
			Route{ID: "header", Matches: []Match{{Path: prefix("/p/"), Headers: []HeaderMatch{{Name: "X-Pick", Match: exact("yes")}}}}, DirectResponse: answer(indexMin)},
			Route{ID: "rest", Matches: []Match{{Path: prefix("/p/")}}, DirectResponse: answer(indexMin + 1)},
		)
		l.VirtualHosts = append(l.VirtualHosts, vh)
	}
	l.Hosts = hosts(t, exactHosts, nil, -1)
	cfg.Listeners = []Listener{l}
	return cfg
}

// TestGeneratedHostsPreparedConcurrently sends the first requests to every
// host of a generated configuration from several clients at once (run with
// -race): each host is prepared once, and every request gets the answer of
// the right route.
func TestGeneratedHostsPreparedConcurrently(t *testing.T) {
	const nhosts, clients = 40, 6
	cfg := manyHostsConfig(t, nhosts)
	g := startGateway(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan string, nhosts*clients*3)
	for ci := range clients {
		wg.Go(func() {
			c := client()
			for k := range nhosts {
				i := (k + ci*7) % nhosts // clients start at different hosts
				host := fmt.Sprintf("h%d.example.com", i)
				for _, q := range []struct {
					target string
					header http.Header
					want   string
				}{
					{fmt.Sprintf("/r/%d/42", ci), nil, fmt.Sprintf("%s route %d", host, ci)},
					{fmt.Sprintf("/e/%d", ci+1), nil, fmt.Sprintf("%s route %d", host, ci+1)},
					{"/p/x", http.Header{"X-Pick": {"yes"}}, fmt.Sprintf("%s route %d", host, indexMin)},
				} {
					req, _ := http.NewRequest("GET", "http://"+g.addr[80]+q.target, nil)
					req.Host = host
					for k, v := range q.header {
						req.Header[k] = v
					}
					resp, err := c.Do(req)
					if err != nil {
						errs <- fmt.Sprintf("%s%s: %v", host, q.target, err)
						continue
					}
					if body := readAll(resp); resp.StatusCode != 200 || body != q.want {
						errs <- fmt.Sprintf("%s%s: %d %q, want 200 %q", host, q.target, resp.StatusCode, body, q.want)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, s := range hostStates(cfg, 0) {
		if s != hostReady {
			t.Errorf("host %d: state %d, want ready", i, s)
		}
	}
	if vh := &cfg.Listeners[0].VirtualHosts[0]; vh.index == nil {
		t.Error("a prepared host of 18 routes has no route index")
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for range 64 {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// badHostConfig is manyHostsConfig with a regex that does not parse on
// host 1.
func badHostConfig(t testing.TB) *Config {
	cfg := manyHostsConfig(t, 3)
	cfg.Listeners[0].VirtualHosts[1].Routes[2].Matches[1].Path = regex("/r/(")
	return cfg
}

// TestHandWrittenConfigFailsAtStart: a configuration not marked Generated
// has every route error reported by Prepare, and PrepareVirtualHosts (what
// gwc build runs) reports the same.
func TestHandWrittenConfigFailsAtStart(t *testing.T) {
	cfg := badHostConfig(t)
	cfg.Generated = false
	err := cfg.Prepare()
	if err == nil || !strings.Contains(err.Error(), `listener 0 (port 80): virtual host "h1.example.com": route 2 "h1 r2": match 1: path: compiling regex "/r/(`) {
		t.Fatalf("Prepare: %v, want the bad regex of h1.example.com", err)
	}
	if hostStates(cfg, 0) != nil {
		t.Error("a hand-written config has lazy host state")
	}
	if err2 := badHostConfig(t).PrepareVirtualHosts(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("PrepareVirtualHosts: %v\nwant Prepare's: %v", err2, err)
	}
	if err := manyHostsConfig(t, 3).PrepareVirtualHosts(); err != nil {
		t.Errorf("PrepareVirtualHosts of a good config: %v", err)
	}
}

// TestGeneratedBadHostAnswers500: a generated configuration that still
// held a bad route (gwc build rules it out) starts; its host answers 500
// with one log line, and the other hosts serve.
func TestGeneratedBadHostAnswers500(t *testing.T) {
	cfg := badHostConfig(t)
	if err := cfg.Prepare(); err != nil {
		t.Fatalf("Prepare checked a generated host at start: %v", err)
	}
	g := startGateway(t, cfg)
	c := client()
	for range 2 {
		resp, _ := g.do(t, c, 80, "GET", "h1.example.com", "/e/0", nil)
		if resp.StatusCode != 500 {
			t.Errorf("bad host: %d, want 500", resp.StatusCode)
		}
	}
	line := g.logs.waitFor(t, `msg="preparing virtual host"`)
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, `compiling regex`) || !strings.Contains(line, "h1.example.com") {
		t.Errorf("log line %q", line)
	}
	if n := strings.Count(g.logs.String(), `msg="preparing virtual host"`); n != 1 {
		t.Errorf("%d log lines for the bad host, want 1", n)
	}
	for _, h := range []string{"h0.example.com", "h2.example.com"} {
		resp, body := g.do(t, c, 80, "GET", h, "/r/3/9", nil)
		if resp.StatusCode != 200 || body != h+" route 3" {
			t.Errorf("%s: %d %q", h, resp.StatusCode, body)
		}
	}
	if got := hostStates(cfg, 0); got[1] != hostFailed {
		t.Errorf("host states %v, want host 1 failed", got)
	}
}

// TestPreparedHostTakesNoAllocation: once prepared, finding a virtual host
// is a load.
func TestPreparedHostTakesNoAllocation(t *testing.T) {
	cfg := manyHostsConfig(t, 2)
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	l := &cfg.Listeners[0]
	if _, first, err := l.virtualHost(1); !first || err != nil {
		t.Fatalf("first virtualHost: first %v, err %v", first, err)
	}
	if _, first, err := l.virtualHost(1); first || err != nil {
		t.Fatalf("second virtualHost: first %v, err %v", first, err)
	}
	if n := testing.AllocsPerRun(100, func() { l.virtualHost(1) }); n != 0 {
		t.Errorf("%v allocations per lookup, want 0", n)
	}
}

// TestDumpPreparesEveryHost: the admin's dump reads every host, so it
// prepares them all first, and a bad one is still dumped.
func TestDumpPreparesEveryHost(t *testing.T) {
	cfg := badHostConfig(t)
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	d := dumpOf(cfg, nil)
	if len(d.Listeners) != 1 || len(d.Listeners[0].VirtualHosts) != 3 {
		t.Fatalf("dump: %+v", d)
	}
	if got := hostStates(cfg, 0); got[0] != hostReady || got[1] != hostFailed || got[2] != hostReady {
		t.Errorf("host states after the dump %v, want ready, failed, ready", got)
	}
	if err := cfg.prepareAll(); err == nil || !strings.Contains(err.Error(), "h1.example.com") {
		t.Errorf("prepareAll: %v, want host 1's error", err)
	}
}

// TestPrepareAgainResetsLazyState: Prepare is idempotent, and a config
// whose marker is cleared is prepared whole.
func TestPrepareAgainResetsLazyState(t *testing.T) {
	cfg := manyHostsConfig(t, 2)
	for range 2 {
		if err := cfg.Prepare(); err != nil {
			t.Fatal(err)
		}
	}
	if got := hostStates(cfg, 0); len(got) != 2 || got[0] != hostPending {
		t.Fatalf("host states %v", got)
	}
	cfg.Generated = false
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listeners[0].lazy != nil || cfg.Listeners[0].VirtualHosts[0].index == nil {
		t.Error("a config prepared whole kept lazy state or has no index")
	}
}
