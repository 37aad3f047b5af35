package runtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// timeoutGateway serves one route with timeout d (0: none) to a backend
// that reads the whole body, then waits for the request's "X-Delay"
// before answering.
func timeoutGateway(t *testing.T, d time.Duration) *testGateway {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if delay, err := time.ParseDuration(r.Header.Get("X-Delay")); err == nil {
			time.Sleep(delay)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(up.Close)
	cfg := oneRoute(t, []Cluster{staticCluster("up", hostPort(up))})
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Timeout = d
	return startGateway(t, cfg)
}

// slowBody sends n bytes, one every step.
type slowBody struct {
	n    int
	step time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(b.step)
	b.n--
	p[0] = 'x'
	return 1, nil
}

// Envoy counts a route timeout from the end of the downstream request: a
// slow upload does not use it up.
func TestRouteTimeoutStartsAfterTheRequest(t *testing.T) {
	g := timeoutGateway(t, 400*time.Millisecond)
	req, _ := http.NewRequest("POST", "http://"+g.addr[80]+"/", &slowBody{n: 8, step: 100 * time.Millisecond})
	req.Host = "h"
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Errorf("an 800 ms upload under a 400 ms route timeout: %d %q, want 200", resp.StatusCode, b)
	}
	// The timeout still bounds the upstream once the request has ended.
	req, _ = http.NewRequest("POST", "http://"+g.addr[80]+"/", strings.NewReader("x"))
	req.Host = "h"
	req.Header.Set("X-Delay", "2s")
	start := time.Now()
	resp, err = client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 504 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("slow upstream: %d after %v, want 504 near 400 ms", resp.StatusCode, time.Since(start))
	}
}

// A grpc-timeout header bounds the request as istiod configures Envoy:
// alone when the route has no timeout, capped by the route's timeout.
func TestGRPCTimeoutHeader(t *testing.T) {
	for _, tc := range []struct {
		route  time.Duration
		header string
		status int
	}{
		{0, "300m", 504},                     // the header alone bounds it
		{300 * time.Millisecond, "20S", 504}, // capped at the route's
		{0, "20S", 200},                      // a long header: the upstream answers in time
		{0, "bogus", 200},                    // not a grpc-timeout: ignored
	} {
		g := timeoutGateway(t, tc.route)
		_, body := g.do(t, client(), 80, "GET", "h", "/", http.Header{"Grpc-Timeout": {tc.header}, "X-Delay": {"1s"}})
		if (tc.status == 504) != (body == bodyUpstreamTimeout) {
			t.Errorf("route timeout %v, grpc-timeout %q: body %q, want status %d", tc.route, tc.header, body, tc.status)
		}
	}
}

func TestParseGRPCTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{"1H": time.Hour, "2M": 2 * time.Minute, "3S": 3 * time.Second,
		"4m": 4 * time.Millisecond, "5u": 5 * time.Microsecond, "6n": 6, "99999999S": 99999999 * time.Second} {
		if got, ok := parseGRPCTimeout(v); !ok || got != want {
			t.Errorf("parseGRPCTimeout(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "S", "1", "1x", "-1S", "123456789S", "1.5S"} {
		if _, ok := parseGRPCTimeout(v); ok {
			t.Errorf("parseGRPCTimeout(%q) accepted", v)
		}
	}
}

// --request-timeout bounds the whole request, body included: a body sent
// a byte at a time past it gets 408 (Envoy's request_timeout), and the
// upstream's answer never reaches the client.
func TestRequestTimeout(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("up", hostPort(up))}), "--request-timeout", "500ms")
	c, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n")
	go func() {
		for range 20 {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("a body trickling past --request-timeout: %d (close %v), want 408 and close", resp.StatusCode, resp.Close)
	}
	// A request inside the bound is served.
	_, body := g.do(t, client(), 80, "POST", "h", "/", nil)
	if body != "ok" {
		t.Errorf("a request inside --request-timeout: %q", body)
	}
}

// --stream-idle-timeout ends a proxied request that moves no byte for the
// duration (408, flag SI, before a response), and leaves one alone whose
// response keeps moving, however long it lasts.
func TestStreamIdleTimeout(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			time.Sleep(time.Second)
			return
		}
		for range 8 {
			io.WriteString(w, "tick\n")
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	defer up.Close()
	log := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("up", hostPort(up))}), "--stream-idle-timeout", "300ms", "--access-log", log)
	resp, body := g.do(t, client(), 80, "GET", "h", "/silent", nil)
	if resp.StatusCode != http.StatusRequestTimeout || body != "stream timeout" {
		t.Errorf("silent upstream: %d %q, want 408 \"stream timeout\"", resp.StatusCode, body)
	}
	resp, body = g.do(t, client(), 80, "GET", "h", "/stream", nil)
	if resp.StatusCode != 200 || strings.Count(body, "tick") != 8 {
		t.Errorf("a stream moving every 100 ms for 800 ms: %d, %d ticks; want 200 and 8", resp.StatusCode, strings.Count(body, "tick"))
	}
	waitForFile(t, log, `"GET /silent HTTP/1.1" 408 SI stream_idle_timeout `)
}
