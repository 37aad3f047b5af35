package runtime

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// leanBackend is a loopback upstream that records each request head it
// gets, as sent, and answers by path with fixed bytes, so that what the
// two proxy paths send and relay can be compared byte for byte.
type leanBackend struct {
	addr string
	mu   sync.Mutex
	got  []string
	hits map[string]int
}

// leanResponses are the upstream's answers by path: hop-by-hop headers
// (among them one Connection names), repeated headers, chunked bodies with
// announced and unannounced trailers, an interim 103, a server-sent event
// stream, a body delimited by the close, a body cut short, 204 and 304.
var leanResponses = map[string]string{
	"/plain": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nConnection: X-Hop\r\nX-Hop: 1\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n" +
		"X-Keep: a\r\nX-Keep: b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nServer: upstream\r\n\r\nhello",
	"/trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n",
	"/late-trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Late: 1\r\n\r\n",
	"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTe: trailers\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
	"/early":   "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"/sse":     "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 8\r\n\r\ndata: 1\n",
	"/close":   "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close",
	"/cut":     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
	"/empty":   "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
	"/cached":  "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n",
	"/retry":   "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
	"/upgrade": "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
}

func startLeanBackend(t *testing.T) *leanBackend {
	b := &leanBackend{hits: map[string]int{}}
	b.addr, _ = rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for range 100 {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			path := strings.Fields(head.String())[1]
			path, _, _ = strings.Cut(path, "?")
			b.mu.Lock()
			b.got = append(b.got, head.String())
			b.hits[path]++
			n := b.hits[path]
			b.mu.Unlock()
			resp, ok := leanResponses[path]
			switch {
			case path == "/retry" && n > 1:
				resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			case !ok:
				resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			}
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
			if path == "/close" || path == "/cut" || path == "/upgrade" {
				return
			}
		}
	})
	return b
}

// heads returns the request heads received so far and forgets them.
func (b *leanBackend) heads() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.got
	b.got = nil
	return h
}

// leanConfig routes a.example.com: /ops with header operations, /retry
// with a retry policy on 503, /down to a cluster nobody listens on, /mirror
// mirrored to the mirror backend, everything else plainly.
func leanConfig(t *testing.T, backend, mirror, down string) *Config {
	to := func(c int) []WeightedCluster { return []WeightedCluster{{Cluster: c, Weight: 100}} }
	ops := HeaderOps{
		Set:    []HeaderValue{{Name: "x-set", Value: "s"}},
		Add:    []HeaderValue{{Name: "x-keep", Value: "added"}},
		Remove: []string{"x-remove"},
	}
	respOps := HeaderOps{
		Set:    []HeaderValue{{Name: "x-resp-set", Value: "r"}},
		Add:    []HeaderValue{{Name: "set-cookie", Value: "c=3"}},
		Remove: []string{"content-type"},
	}
	cfg := &Config{
		Listeners: []Listener{{
			Port:     80,
			Protocol: "HTTP",
			Hosts:    hosts(t, map[string]int32{"a.example.com": 0}, nil, -1),
			VirtualHosts: []VirtualHost{{Domain: "a.example.com", Routes: []Route{
				{ID: "ops", Matches: []Match{{Path: prefix("/ops")}}, Clusters: to(0), RequestHeaders: ops, ResponseHeaders: respOps},
				{ID: "retry", Matches: []Match{{Path: prefix("/retry")}}, Clusters: to(0),
					Retry: &RetryPolicy{Attempts: 2, On: []string{"5xx"}, Backoff: time.Millisecond}},
				{ID: "down", Matches: []Match{{Path: prefix("/down")}}, Clusters: to(2),
					Retry: &RetryPolicy{Attempts: 1, On: []string{"connect-failure"}, Backoff: time.Millisecond}},
				{ID: "mirror", Matches: []Match{{Path: prefix("/mirror")}}, Clusters: to(0), Mirrors: []Mirror{{Cluster: 1, Percent: 100}}},
				{ID: "all", Matches: []Match{{Path: prefix("/")}}, Clusters: to(0)},
			}}},
		}},
		Clusters: []Cluster{staticCluster("a", backend), staticCluster("m", mirror), staticCluster("down", down)},
	}
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// leanSide is one gateway of the comparison: its listener behind a real
// net/http server, its upstream and its mirror.
type leanSide struct {
	addr     string
	back     *leanBackend
	mirror   *leanBackend
	leanUsed bool
}

func startLeanSide(t *testing.T, lean bool, down string) *leanSide {
	s := &leanSide{back: startLeanBackend(t), mirror: startLeanBackend(t), leanUsed: lean}
	cfg := leanConfig(t, s.back.addr, s.mirror.addr, down)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	e := newEngine(cfg, slog.New(slog.DiscardHandler), stop)
	t.Cleanup(e.forward.CloseIdleConnections)
	routes := cfg.Listeners[0].VirtualHosts[0].Routes
	for i := range routes {
		rt := &routes[i]
		for _, p := range e.routeProxies(rt) {
			if p.fwd == nil {
				t.Fatalf("route %s: the proxy has no forwarder", rt.ID)
			}
			if !lean {
				p.fwd = nil // every request through ReverseProxy
			}
		}
	}
	srv := httptest.NewServer(&listenerHandler{l: &cfg.Listeners[0], e: e})
	t.Cleanup(srv.Close)
	s.addr = srv.Listener.Addr().String()
	return s
}

// rawExchange sends a raw request and returns the raw response: the
// request asks for the connection to close, so the response ends there.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c) // a reset after a cut response ends it too
	return string(b)
}

var (
	leanDateRE = regexp.MustCompile(`(?m)^Date: .*\r\n`)
	leanTimeRE = regexp.MustCompile(`(?m)^X-Envoy-Upstream-Service-Time: \d+\r\n`)
	leanIDRE   = regexp.MustCompile(`(?m)^X-Request-Id: [0-9a-f-]{36}\r\n`)
)

func leanNormal(s string) string {
	s = leanDateRE.ReplaceAllString(s, "Date: -\r\n")
	s = leanTimeRE.ReplaceAllString(s, "X-Envoy-Upstream-Service-Time: -\r\n")
	return leanIDRE.ReplaceAllString(s, "X-Request-Id: <generated>\r\n")
}

// TestLeanMatchesReverseProxy sends the same requests through the lean
// path and through ReverseProxy, each gateway with its own upstream, and
// compares byte for byte (but the date, the service time and generated
// request ids) what the upstream got, what the mirror got and what the
// client got: status, headers, body, trailers, hop-by-hop removal both
// ways, X-Forwarded-*, retries, a failed connection, a cut response.
func TestLeanMatchesReverseProxy(t *testing.T) {
	downLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := downLn.Addr().String()
	downLn.Close()
	lean, rp := startLeanSide(t, true, down), startLeanSide(t, false, down)

	hop := "Connection: close, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\n" +
		"Te: deflate, Trailers\r\nTrailer: X-T\r\nProxy-Authorization: Basic eA==\r\nForwarded: for=192.0.2.1\r\n" +
		"X-Forwarded-For: 192.0.2.2\r\nX-Forwarded-For: 192.0.2.3\r\nX-Forwarded-Host: h\r\nX-Forwarded-Proto: https\r\n" +
		"User-Agent: ua\r\nX-Keep: v\r\nX-Remove: gone\r\n"
	// A response of unknown length without a Content-Type gets one sniffed
	// from its first write unless the headers were flushed before it:
	// ReverseProxy flushes them from a timer that races the first write,
	// so whether it sniffs varies (sniffed says to ignore it).
	cases := []struct {
		name, req string
		sniffed   bool
	}{
		{"hop-by-hop", "GET /plain?a=1;b=%zz HTTP/1.1\r\nHost: a.example.com\r\n" + hop + "\r\n", false},
		{"bare", "GET /plain HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"request id", "GET /x HTTP/1.1\r\nHost: a.example.com:80\r\nX-Request-Id: given\r\nTe: gzip\r\nConnection: close\r\n\r\n", false},
		{"connection names the id", "GET /x HTTP/1.1\r\nHost: a.example.com\r\nX-Request-Id: given\r\nConnection: close, x-request-id\r\n\r\n", false},
		{"head", "HEAD /plain HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"delete", "DELETE /trailers HTTP/1.1\r\nHost: a.example.com\r\nTe: trailers\r\nConnection: close\r\n\r\n", true},
		{"late trailers", "GET /late-trailers HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", true},
		{"chunked", "GET /chunked HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", true},
		{"103", "GET /early HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"sse", "GET /sse HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"close-delimited", "GET /close HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", true},
		{"cut", "GET /cut HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"204", "GET /empty HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"304", "GET /cached HTTP/1.1\r\nHost: a.example.com\r\nIf-None-Match: \"x\"\r\nConnection: close\r\n\r\n", false},
		{"unasked 101", "GET /upgrade HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"header ops", "GET /ops/x HTTP/1.1\r\nHost: a.example.com\r\nX-Keep: v\r\nX-Remove: gone\r\nConnection: close\r\n\r\n", false},
		{"retry", "GET /retry HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"connect failure", "GET /down HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
		{"mirror", "GET /mirror/x HTTP/1.1\r\nHost: a.example.com\r\nX-Keep: v\r\nConnection: close\r\n\r\n", false},
		{"normalised path", "GET /a/../plain HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[bool]string{}
			for _, s := range []*leanSide{lean, rp} {
				resp := leanNormal(rawExchange(t, s.addr, tc.req))
				if tc.sniffed {
					resp = strings.Replace(resp, "Content-Type: text/plain; charset=utf-8\r\n", "", 1)
				}
				got[s.leanUsed] = resp
				up := leanNormal(strings.Join(s.back.heads(), "---\n"))
				var mirrored string
				if strings.HasPrefix(tc.name, "mirror") {
					mirrored = leanNormal(strings.Join(waitHeads(t, s.mirror), "---\n"))
				}
				got[s.leanUsed] += "\n=== upstream got:\n" + up + "\n=== mirror got:\n" + mirrored
			}
			if got[true] != got[false] {
				t.Errorf("lean path:\n%s\nReverseProxy:\n%s", got[true], got[false])
			}
			if !strings.HasPrefix(got[true], "HTTP/1.1 ") {
				t.Errorf("no response: %q", got[true])
			}
		})
	}

	// What the comparison relies on, checked outright on the lean side.
	resp := rawExchange(t, lean.addr, cases[0].req)
	up := lean.back.heads()
	if len(up) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(up))
	}
	for _, gone := range []string{"X-Drop", "Keep-Alive", "Proxy-Connection", "Trailer:", "Proxy-Authorization",
		"Forwarded:", "X-Forwarded-Host", "192.0.2.1", "Connection:"} {
		if strings.Contains(up[0], gone) {
			t.Errorf("upstream got %q:\n%s", gone, up[0])
		}
	}
	for _, kept := range []string{"Te: trailers\r\n", "X-Forwarded-For: 192.0.2.2,192.0.2.3,127.0.0.1\r\n",
		"X-Forwarded-Proto: http\r\n", "User-Agent: ua\r\n", "X-Envoy-Attempt-Count: 1\r\n", "?a=1;b=%zz "} {
		if !strings.Contains(up[0], kept) {
			t.Errorf("upstream did not get %q:\n%s", kept, up[0])
		}
	}
	for _, gone := range []string{"X-Hop", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Upgrade", "Server: upstream"} {
		if strings.Contains(resp, gone) {
			t.Errorf("client got %q:\n%s", gone, resp)
		}
	}
	for _, kept := range []string{"X-Keep: a\r\nX-Keep: b\r\n", "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n", "Server: istio-envoy\r\n", "\r\n\r\nhello"} {
		if !strings.Contains(resp, kept) {
			t.Errorf("client did not get %q:\n%s", kept, resp)
		}
	}
}

// waitHeads waits for the mirror's copy, which is sent asynchronously.
func waitHeads(t *testing.T, b *leanBackend) []string {
	t.Helper()
	for range 200 {
		if h := b.heads(); len(h) > 0 {
			return h
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the mirror got nothing")
	return nil
}

// TestLeanable checks which requests take the lean path.
func TestLeanable(t *testing.T) {
	mk := func(method, body string, h map[string]string) *http.Request {
		var r *http.Request
		if body == "" {
			r = httptest.NewRequest(method, "/", nil)
		} else {
			r = httptest.NewRequest(method, "/", strings.NewReader(body))
		}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"get", mk("GET", "", nil), true},
		{"post without body", mk("POST", "", nil), true},
		{"post with body", mk("POST", "x", nil), false},
		{"upgrade", mk("GET", "", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}), false},
		{"expect", mk("GET", "", map[string]string{"Expect": "100-continue"}), false},
		{"connect", mk("CONNECT", "", nil), false},
	} {
		if got := leanable(tc.r); got != tc.want {
			t.Errorf("%s: leanable %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLeanTransportEscape checks the lean transport's way out: a request
// the forwarder does not take goes to the fallback transport, with the
// 1xx hook in its context, and marks the state as not to be reused.
func TestLeanTransportEscape(t *testing.T) {
	srv, _ := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>")
		w.WriteHeader(http.StatusEarlyHints)
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, string(b))
	})
	f := newTestForwarder(t)
	st := leanPool.Get().(*leanState)
	rec := httptest.NewRecorder()
	st.fw, st.rt.f = flushWriter{rec}, f
	req, err := http.NewRequest("POST", srv.URL+"/", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := st.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "body" {
		t.Errorf("got %d %q, want 200 \"body\"", resp.StatusCode, b)
	}
	if !st.escaped {
		t.Error("the state was not marked escaped")
	}
	if rec.Code != http.StatusEarlyHints {
		t.Errorf("the client got %d first, want the 103", rec.Code)
	}
	st.release() // a no-op: the state stays out of the pool
}
