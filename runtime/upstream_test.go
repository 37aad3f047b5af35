package runtime

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingBackend serves handle and counts requests, requests in flight
// (and the most seen at once) and distinct client connections.
type countingBackend struct {
	*httptest.Server
	name     string
	requests atomic.Int64
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	conns    map[string]bool
}

func newCountingBackend(t *testing.T, name string, handle func(w http.ResponseWriter, r *http.Request)) *countingBackend {
	t.Helper()
	b := &countingBackend{name: name, conns: map[string]bool{}}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		n := b.inflight.Add(1)
		defer b.inflight.Add(-1)
		for {
			p := b.peak.Load()
			if n <= p || b.peak.CompareAndSwap(p, n) {
				break
			}
		}
		b.mu.Lock()
		b.conns[r.RemoteAddr] = true
		b.mu.Unlock()
		w.Header().Set("X-Backend", name)
		if handle != nil {
			handle(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *countingBackend) addr() string { return b.Listener.Addr().String() }

func policyCluster(p *ClusterPolicy, backends ...*countingBackend) Cluster {
	c := Cluster{Name: "outbound|80||svc", Policy: p}
	for _, b := range backends {
		c.Endpoints = append(c.Endpoints, Endpoint{Address: b.addr(), Weight: 1})
	}
	return c
}

// fire sends n GETs from workers concurrent clients and returns the
// responses' status codes, X-Backend and X-Envoy-Overloaded headers.
type result struct {
	code       int
	backend    string
	overloaded string
	body       string
}

func fire(t *testing.T, g *testGateway, n, workers int, header http.Header) []result {
	t.Helper()
	out := make([]result, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
				req.Host = "svc"
				for k, v := range header {
					req.Header[k] = v
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				out[i] = result{resp.StatusCode, resp.Header.Get("X-Backend"), resp.Header.Get("X-Envoy-Overloaded"), string(b)}
			}
		}()
	}
	wg.Wait()
	return out
}

// TestWeightedSpreadThroughGateway checks the weights end to end;
// TestBalancerSpread measures every balancer over 10,000 picks.
func TestWeightedSpreadThroughGateway(t *testing.T) {
	const n = 2000
	a := newCountingBackend(t, "a", nil)
	b := newCountingBackend(t, "b", nil)
	c := newCountingBackend(t, "c", nil)
	cl := policyCluster(&ClusterPolicy{LB: LBRoundRobin}, a, b, c)
	cl.Endpoints[0].Weight, cl.Endpoints[1].Weight, cl.Endpoints[2].Weight = 1, 2, 7
	g := startGateway(t, oneRoute(t, []Cluster{cl}))
	counts := map[string]int{}
	for _, r := range fire(t, g, n, 8, nil) {
		if r.code != 200 {
			t.Fatalf("status %d %q", r.code, r.body)
		}
		counts[r.backend]++
	}
	for name, want := range map[string]float64{"a": 10, "b": 20, "c": 70} {
		got := 100 * float64(counts[name]) / n
		t.Logf("endpoint %s: %.2f%% (want %.0f%%)", name, got, want)
		if math.Abs(got-want) > 3 {
			t.Errorf("endpoint %s got %.2f%% of %d requests, want %.0f%% ± 3", name, got, n, want)
		}
	}
}

func TestCircuitBreakerLimits(t *testing.T) {
	release := make(chan struct{})
	// Requests in flight across both backends, and the most at once.
	var inflight, peak atomic.Int64
	var mu sync.Mutex
	slow := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peak.Store(max(peak.Load(), inflight.Add(1)))
		mu.Unlock()
		defer inflight.Add(-1)
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "ok")
	}
	a := newCountingBackend(t, "a", slow)
	b := newCountingBackend(t, "b", slow)
	p := &ClusterPolicy{Pool: ConnectionPool{MaxConnections: 2, MaxPendingRequests: 3}}
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(p, a, b)}))
	const n = 12
	results := make(chan result, n)
	for range n {
		go func() {
			req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
			req.Host = "svc"
			resp, err := client().Do(req)
			if err != nil {
				t.Error(err)
				results <- result{}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, resp.Header.Get("X-Backend"), resp.Header.Get("X-Envoy-Overloaded"), string(body)}
		}()
	}
	// 2 requests hold the connections and 3 wait: the other 7 are answered
	// at once, before the backends release anything.
	var got []result
	timeout := time.After(10 * time.Second)
	for len(got) < n-5 {
		select {
		case r := <-results:
			got = append(got, r)
		case <-timeout:
			t.Fatalf("only %d answers while the backends hold 2 requests", len(got))
		}
	}
	for _, r := range got {
		if r.code != 503 || r.overloaded != "true" || !strings.Contains(r.body, "overflow") {
			t.Errorf("early answer %d %q (x-envoy-overloaded %q), want 503 overflow", r.code, r.body, r.overloaded)
		}
	}
	// The two admitted requests may still be on their way to the backends.
	deadline := time.Now().Add(10 * time.Second)
	for inflight.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if in := inflight.Load(); in != 2 {
		t.Errorf("backends hold %d requests, want 2 (maxConnections)", in)
	}
	close(release)
	for range 5 {
		if r := <-results; r.code != 200 {
			t.Errorf("a pending request got %d %q, want 200", r.code, r.body)
		}
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("backends saw %d requests at once; maxConnections is 2", p)
	}
	t.Logf("maxConnections 2, http1MaxPendingRequests 3, %d concurrent: 5 served (at most 2 at once), 7 overloaded", n)
}

func TestMaxRequestsNeverExceeded(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "ok")
	}
	a := newCountingBackend(t, "a", slow)
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{Pool: ConnectionPool{MaxRequests: 3}}, a)}))
	ok, over := 0, 0
	for _, r := range fire(t, g, 200, 10, nil) {
		switch {
		case r.code == 200:
			ok++
		case r.code == 503 && r.overloaded == "true":
			over++
		default:
			t.Fatalf("unexpected %d %q", r.code, r.body)
		}
	}
	t.Logf("http2MaxRequests 3, 10 concurrent clients: peak %d in flight, %d served, %d overloaded", a.peak.Load(), ok, over)
	if a.peak.Load() > 3 {
		t.Errorf("backend saw %d requests at once, limit 3", a.peak.Load())
	}
	if over == 0 || ok == 0 {
		t.Errorf("%d served, %d overloaded: want both", ok, over)
	}
}

func TestOutlierEjectsAndReturns(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	bad := newCountingBackend(t, "bad", func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "bad")
	})
	good := newCountingBackend(t, "good", nil)
	od := &OutlierDetection{Consecutive5xx: 3, Interval: 20 * time.Millisecond, BaseEjectionTime: time.Second, MaxEjectionPercent: 100}
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{LB: LBRoundRobin, Outlier: od}, bad, good)}))
	c := client()
	fails := 0
	for range 20 {
		resp, _ := g.do(t, c, 80, "GET", "svc", "/", nil)
		if resp.StatusCode == 500 {
			fails++
		}
	}
	if fails != 3 {
		t.Errorf("%d clients saw 500 before the bad endpoint was ejected, want 3 (consecutive5xxErrors)", fails)
	}
	if !strings.Contains(g.logs.String(), "outlier ejected") {
		t.Error("no ejection logged")
	}
	// Ejected endpoints come back after baseEjectionTime (checked every
	// interval).
	broken.Store(false)
	before := bad.requests.Load()
	deadline := time.Now().Add(10 * time.Second)
	for bad.requests.Load() == before && time.Now().Before(deadline) {
		g.do(t, c, 80, "GET", "svc", "/", nil)
		time.Sleep(10 * time.Millisecond)
	}
	if bad.requests.Load() == before {
		t.Fatal("the ejected endpoint never got traffic again")
	}
}

func TestAllEjectedIsNoHealthyUpstream(t *testing.T) {
	bad := newCountingBackend(t, "bad", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	od := &OutlierDetection{ConsecutiveGateway: 2, Interval: time.Hour, BaseEjectionTime: time.Hour, MaxEjectionPercent: 100}
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{Outlier: od}, bad)}))
	c := client()
	for range 2 {
		if resp, _ := g.do(t, c, 80, "GET", "svc", "/", nil); resp.StatusCode != 503 || resp.Header.Get("X-Backend") != "bad" {
			t.Fatalf("want the backend's 503, got %d", resp.StatusCode)
		}
	}
	ar, err := c.Get("http://" + g.admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := io.ReadAll(ar.Body)
	ar.Body.Close()
	if !strings.Contains(string(admin), `"ejected": [`) || !strings.Contains(string(admin), bad.addr()) {
		t.Errorf("/clusters does not show the ejected endpoint:\n%s", admin)
	}
	resp, body := g.do(t, c, 80, "GET", "svc", "/", nil)
	if resp.StatusCode != 503 || body != bodyNoHealthyUpstream {
		t.Fatalf("after ejection: %d %q, want 503 %q", resp.StatusCode, body, bodyNoHealthyUpstream)
	}
	if n := bad.requests.Load(); n != 2 {
		t.Errorf("backend got %d requests, want 2 (none once ejected)", n)
	}
}

func TestMaxRequestsPerConnection(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{Pool: ConnectionPool{MaxRequestsPerConnection: 3}}, a)}))
	c := client()
	for range 9 {
		if resp, _ := g.do(t, c, 80, "GET", "svc", "/", nil); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	a.mu.Lock()
	conns := len(a.conns)
	a.mu.Unlock()
	if conns != 3 {
		t.Errorf("9 sequential requests used %d upstream connections, want 3 (maxRequestsPerConnection 3)", conns)
	}
}

func TestCookieAffinity(t *testing.T) {
	bs := []*countingBackend{newCountingBackend(t, "a", nil), newCountingBackend(t, "b", nil), newCountingBackend(t, "c", nil)}
	p := &ClusterPolicy{LB: LBRingHash, Hash: HashPolicy{Cookie: "sid", CookiePath: "/", CookieTTL: time.Hour, CookieGenerate: true}}
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(p, bs...)}))
	c := client()
	for range 5 {
		resp, _ := g.do(t, c, 80, "GET", "svc", "/", nil)
		sc := resp.Header.Get("Set-Cookie")
		ck, err := http.ParseSetCookie(sc)
		if err != nil || ck.Name != "sid" || ck.MaxAge != 3600 {
			t.Fatalf("Set-Cookie %q: %v", sc, err)
		}
		first := resp.Header.Get("X-Backend")
		for range 10 {
			r2, _ := g.do(t, c, 80, "GET", "svc", "/", http.Header{"Cookie": {"sid=" + ck.Value}})
			if got := r2.Header.Get("X-Backend"); got != first {
				t.Fatalf("cookie %s went to %s, then %s", ck.Value, first, got)
			}
			if r2.Header.Get("Set-Cookie") != "" {
				t.Fatal("cookie set again though the request had it")
			}
		}
	}
}

func TestHeaderHashStable(t *testing.T) {
	bs := []*countingBackend{newCountingBackend(t, "a", nil), newCountingBackend(t, "b", nil), newCountingBackend(t, "c", nil)}
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{LB: LBMaglev, TableSize: 251, Hash: HashPolicy{Header: "x-user"}}, bs...)}))
	c := client()
	owner := map[string]string{}
	for round := range 3 {
		for u := range 50 {
			user := fmt.Sprint("user", u)
			resp, _ := g.do(t, c, 80, "GET", "svc", "/", http.Header{"X-User": {user}})
			got := resp.Header.Get("X-Backend")
			if round > 0 && owner[user] != got {
				t.Fatalf("%s moved from %s to %s", user, owner[user], got)
			}
			owner[user] = got
		}
	}
	used := map[string]bool{}
	for _, b := range owner {
		used[b] = true
	}
	if len(used) != 3 {
		t.Errorf("50 keys used %d of 3 endpoints", len(used))
	}
}

func TestIdleTimeoutClosesUpstreamConnections(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	b := newCountingBackend(t, "b", nil)
	short := policyCluster(&ClusterPolicy{Pool: ConnectionPool{IdleTimeout: 30 * time.Millisecond}}, a)
	long := policyCluster(nil, b)
	long.Name = "long"
	cfg := oneRoute(t, []Cluster{short, long})
	cfg.Listeners[0].VirtualHosts[0].Routes = []Route{
		{ID: "short", Matches: []Match{{Path: StringMatch{Kind: MatchPrefix, Value: "/short"}}}, Clusters: []WeightedCluster{{Cluster: 0, Weight: 1}}},
		{ID: "long", Clusters: []WeightedCluster{{Cluster: 1, Weight: 1}}},
	}
	g := startGateway(t, cfg)
	c := client()
	for range 2 {
		g.do(t, c, 80, "GET", "svc", "/short", nil)
		g.do(t, c, 80, "GET", "svc", "/long", nil)
		time.Sleep(200 * time.Millisecond)
	}
	conns := func(b *countingBackend) int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.conns)
	}
	if n := conns(a); n != 2 {
		t.Errorf("idleTimeout 30ms: 2 requests 200ms apart used %d connections, want 2", n)
	}
	if n := conns(b); n != 1 {
		t.Errorf("default idle timeout: 2 requests used %d connections, want 1", n)
	}
}

func TestClusterTransportSettings(t *testing.T) {
	tr, err := newClusterTransport("c", &ClusterPolicy{Pool: ConnectionPool{MaxConnections: 7, IdleTimeout: -1, MaxRequestsPerConnection: 1}}, "", slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	if tr.MaxConnsPerHost != 7 || tr.IdleConnTimeout != 0 || !tr.DisableKeepAlives {
		t.Errorf("transport: maxConnsPerHost %d, idle %s, keep-alives off %t", tr.MaxConnsPerHost, tr.IdleConnTimeout, tr.DisableKeepAlives)
	}
}

func TestMaxConnectionDuration(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{Pool: ConnectionPool{MaxConnectionDuration: 100 * time.Millisecond}}, a)}))
	c := client()
	conns := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.conns)
	}
	for range 3 {
		g.do(t, c, 80, "GET", "svc", "/", nil)
	}
	if n := conns(); n != 1 {
		t.Fatalf("3 quick requests used %d connections, want 1", n)
	}
	time.Sleep(150 * time.Millisecond)
	// The connection is past its age: the next request is its last.
	g.do(t, c, 80, "GET", "svc", "/", nil)
	g.do(t, c, 80, "GET", "svc", "/", nil)
	if n := conns(); n != 2 {
		t.Errorf("after maxConnectionDuration, %d connections, want 2", n)
	}
}
