package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// oneRoute returns a config with one listener on port 80 whose catch-all
// virtual host sends everything to the weighted clusters.
func oneRoute(t testing.TB, clusters []Cluster, weighted ...WeightedCluster) *Config {
	if len(weighted) == 0 {
		weighted = []WeightedCluster{{Cluster: 0, Weight: 100}}
	}
	return &Config{
		Listeners: []Listener{{
			Port:         80,
			Protocol:     "HTTP",
			Hosts:        hosts(t, nil, nil, 0),
			VirtualHosts: []VirtualHost{{Domain: "*", Routes: []Route{{ID: "all", Clusters: weighted}}}},
		}},
		Clusters: clusters,
	}
}

func staticCluster(name string, addrs ...string) Cluster {
	c := Cluster{Name: name}
	for _, a := range addrs {
		c.Endpoints = append(c.Endpoints, Endpoint{Address: a})
	}
	return c
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestForwardedHeaders(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}))
	c := client()

	resp, body := g.do(t, c, 80, "GET", "Shop.Example.com:8443", "/x", http.Header{
		"X-Forwarded-For":       {"203.0.113.7", "198.51.100.1"},
		"X-Forwarded-Proto":     {"https"},
		"X-Envoy-Attempt-Count": {"9"},
		"Connection":            {"X-Secret"},
		"X-Secret":              {"hop"},
		"Keep-Alive":            {"timeout=5"},
		"Proxy-Connection":      {"keep-alive"},
		"Te":                    {"gzip"},
		"Accept-Encoding":       {"gzip"},
	})
	s := seenBy(t, body)
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	h := http.Header(s.Header)
	check("upstream Host", s.Host, "Shop.Example.com:8443")
	check("x-forwarded-for", h.Get("X-Forwarded-For"), "203.0.113.7,198.51.100.1,127.0.0.1")
	check("x-forwarded-proto", h.Get("X-Forwarded-Proto"), "http")
	check("x-envoy-attempt-count", h.Get("X-Envoy-Attempt-Count"), "1")
	check("accept-encoding", h.Get("Accept-Encoding"), "gzip")
	if id := h.Get("X-Request-Id"); !uuidV4.MatchString(id) {
		t.Errorf("x-request-id = %q, want a UUIDv4", id)
	}
	for _, hop := range []string{"X-Secret", "Keep-Alive", "Proxy-Connection", "Te", "Connection"} {
		if v, ok := h[hop]; ok {
			t.Errorf("upstream got hop-by-hop header %s: %q", hop, v)
		}
	}
	check("server", resp.Header.Get("Server"), "istio-envoy")
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(resp.Header.Get("X-Envoy-Upstream-Service-Time")) {
		t.Errorf("x-envoy-upstream-service-time = %q", resp.Header.Get("X-Envoy-Upstream-Service-Time"))
	}
	for _, hop := range []string{"X-Hop", "Keep-Alive"} {
		if v := resp.Header.Get(hop); v != "" {
			t.Errorf("client got upstream hop-by-hop header %s: %q", hop, v)
		}
	}

	// A request id the client sent is replaced, as Envoy does for external
	// requests; so are the x-envoy-* headers it sent removed.
	_, body = g.do(t, c, 80, "GET", "h", "/", http.Header{"X-Request-Id": {"client-id-1"},
		"X-Envoy-Retry-On": {"5xx"}, "X-Envoy-Max-Retries": {"9"}, "X-Envoy-Upstream-Rq-Timeout-Ms": {"1"},
		"X-Envoy-Internal": {"true"}, "X-Envoy-Force-Trace": {"1"}, "X-Envoy-Decorator-Operation": {"op"},
		"X-Envoy-Ip-Tags": {"t"}, "X-Envoy-Anything-Else": {"x"}})
	seen := http.Header(seenBy(t, body).Header)
	if id := seen.Get("X-Request-Id"); id == "client-id-1" || len(id) != 36 {
		t.Errorf("x-request-id upstream = %q, want a new UUID", id)
	}
	for k := range seen {
		if strings.HasPrefix(k, "X-Envoy-") && k != "X-Envoy-Attempt-Count" && k != "X-Envoy-Expected-Rq-Timeout-Ms" {
			t.Errorf("client header %s reached the upstream", k)
		}
	}
	// Without X-Forwarded-For, the client address alone.
	_, body = g.do(t, c, 80, "GET", "h", "/", nil)
	check("fresh x-forwarded-for", http.Header(seenBy(t, body).Header).Get("X-Forwarded-For"), "127.0.0.1")
}

func TestRequestBodyForwarded(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}))
	// Content-Length and chunked bodies.
	out, _ := raw(t, g.addr[80], "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"+
		"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	rs := responses(t, out)
	if len(rs) != 2 {
		t.Fatalf("want 2 responses, got %q", out)
	}
	for i, want := range []string{"hello", "abcde"} {
		b, _ := io.ReadAll(rs[i].Body)
		if s := seenBy(t, string(b)); s.Body != want {
			t.Errorf("request %d: upstream body %q, want %q", i, s.Body, want)
		}
	}
}

func TestWeightedClusters(t *testing.T) {
	a, b, z := backend(t, "A"), backend(t, "B"), backend(t, "Z")
	cfg := oneRoute(t,
		[]Cluster{staticCluster("a", hostPort(a)), staticCluster("b", hostPort(b)), staticCluster("z", hostPort(z))},
		WeightedCluster{Cluster: 0, Weight: 3}, WeightedCluster{Cluster: 1, Weight: 1}, WeightedCluster{Cluster: 2, Weight: 0})
	g := startGateway(t, cfg)
	c := client()
	const n = 2000
	counts := map[string]int{}
	for range n {
		_, body := g.do(t, c, 80, "GET", "h", "/", nil)
		counts[seenBy(t, body).Backend]++
	}
	// 3:1 over 2000 requests: A expects 1500 (sd ~19); the band is ~5 sd.
	if counts["A"] < 1400 || counts["A"] > 1600 || counts["A"]+counts["B"] != n {
		t.Errorf("split %v, want about 1500 A / 500 B and no Z", counts)
	}
}

func TestDeadBackend(t *testing.T) {
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("dead", deadAddr(t))}))
	resp, body := g.do(t, client(), 80, "GET", "h", "/", nil)
	if resp.StatusCode != 503 || body != bodyConnectFailure {
		t.Errorf("dead backend: %d %q, want 503 %q", resp.StatusCode, body, bodyConnectFailure)
	}
	if resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("Server") != "istio-envoy" {
		t.Errorf("dead backend headers: %v", resp.Header)
	}
}

func TestNoEndpoints(t *testing.T) {
	g := startGateway(t, oneRoute(t, []Cluster{{Name: "empty"}}))
	resp, body := g.do(t, client(), 80, "GET", "h", "/", nil)
	if resp.StatusCode != 503 || body != "no healthy upstream" {
		t.Errorf("no endpoints: %d %q, want 503 no healthy upstream", resp.StatusCode, body)
	}
}

func TestRetryOnConnectFailure(t *testing.T) {
	live := backend(t, "live")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("mixed", deadAddr(t), hostPort(live), deadAddr(t))}))
	c := client()
	retried := 0
	for i := range 12 {
		// With a body too: nothing was read from it when the connect failed.
		req, _ := http.NewRequest("POST", "http://"+g.addr[80]+"/", strings.NewReader("payload"))
		req.Host = "h"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q, want 200 from the live endpoint", i, resp.StatusCode, b)
		}
		s := seenBy(t, string(b))
		if s.Body != "payload" {
			t.Errorf("request %d: body %q after retry", i, s.Body)
		}
		if http.Header(s.Header).Get("X-Envoy-Attempt-Count") != "1" {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no request needed a retry, though two of three endpoints are dead")
	}
}

func TestDNSCluster(t *testing.T) {
	a := backend(t, "A")
	_, port, _ := net.SplitHostPort(hostPort(a))
	cfg := oneRoute(t, []Cluster{{Name: "dns", Resolve: true, Endpoints: []Endpoint{{Address: "localhost:" + port}}}})
	g := startGateway(t, cfg)
	c := client()
	for i := range 4 {
		resp, body := g.do(t, c, 80, "GET", "h", "/", nil)
		if resp.StatusCode != 200 || seenBy(t, body).Backend != "A" {
			t.Fatalf("request %d via localhost: %d %q", i, resp.StatusCode, body)
		}
	}
	resp, err := c.Get("http://" + g.admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"127.0.0.1:`+port+`"`) || !strings.Contains(string(b), `"resolved": true`) {
		t.Errorf("/clusters does not list the resolved address:\n%s", b)
	}
}

func TestDNSKeepsLastGoodAnswer(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	d := newDNSEndpoints([]Endpoint{{Address: "svc.example:8080"}, {Address: "other.example:9090"}}, stop, systemResolver())
	d.ttlLookup = nil // only the stub below answers
	var fail atomic.Bool
	var calls atomic.Int32
	d.lookup = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		calls.Add(1)
		if fail.Load() {
			return nil, errors.New("dns is down")
		}
		if host == "svc.example" {
			return addrs("10.0.0.1", "10.0.0.2"), nil
		}
		return addrs("10.0.0.3"), nil
	}
	// Concurrent first users share one lookup.
	done := make(chan *endpointSet, 8)
	for range 8 {
		go func() { done <- d.get(t.Context()) }()
	}
	for range 8 {
		if s := <-done; len(s.addrs) != 3 {
			t.Fatalf("endpoints %v, want 3", s.addrs)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d lookups for 8 concurrent first uses of 2 names, want 2", n)
	}
	fail.Store(true)
	d.refresh()
	if s := d.get(t.Context()); strings.Join(s.addrs, " ") != "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:9090" {
		t.Errorf("after a failed refresh: %v, want the last good answer", s.addrs)
	}
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestUpgradePassesThrough(t *testing.T) {
	up := newUpgradeBackend(t)
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("ws", up)}))
	upgradeAndEcho(t, g, "")
}

// An upgrade whose upstream answers late, and whose client writes late:
// the engine's watch for clients that leave (armed for requests served
// longer than 50 ms) must never read from a connection handed over.
func TestSlowUpgradeKeepsEveryByte(t *testing.T) {
	up := newUpgradeBackend(t)
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("ws", up)}))
	upgradeAndEcho(t, g, "200ms")
}

func upgradeAndEcho(t *testing.T, g *testGateway, delay string) {
	t.Helper()
	conn, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Delay: "+delay+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: status %d", resp.StatusCode)
	}
	for _, msg := range []string{"ping\n", "pong\n"} {
		if delay != "" {
			time.Sleep(100 * time.Millisecond)
		}
		io.WriteString(conn, msg)
		line, err := br.ReadString('\n')
		if err != nil || line != msg {
			t.Errorf("echo after upgrade: %q, %v; want %q", line, err, msg)
		}
	}
}

// newUpgradeBackend answers "Upgrade: websocket" with 101 and then echoes bytes.
func newUpgradeBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		if d, err := time.ParseDuration(r.Header.Get("X-Delay")); err == nil {
			time.Sleep(d)
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		brw.Flush()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.Copy(c, brw)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestRequestTargetForms(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}))
	tests := []struct{ line, host, wantURI, wantHost string }{
		{"GET //double/slash?q HTTP/1.1", "h", "//double/slash?q", "h"},
		{"GET //x/%2e%2e/y%2Fz HTTP/1.1", "h", "//y%2Fz", "h"},
		{"GET http://abs.example.com:81/p/./q?x=1 HTTP/1.1", "ignored", "/p/q?x=1", "abs.example.com:81"},
	}
	for _, tt := range tests {
		out, _ := raw(t, g.addr[80], tt.line+"\r\nHost: "+tt.host+"\r\nConnection: close\r\n\r\n")
		rs := responses(t, out)
		if len(rs) != 1 || rs[0].StatusCode != 200 {
			t.Fatalf("%s: %q", tt.line, out)
		}
		b, _ := io.ReadAll(rs[0].Body)
		if s := seenBy(t, string(b)); s.RequestURI != tt.wantURI || s.Host != tt.wantHost {
			t.Errorf("%s: upstream saw %q Host %q, want %q Host %q", tt.line, s.RequestURI, s.Host, tt.wantURI, tt.wantHost)
		}
	}
}
