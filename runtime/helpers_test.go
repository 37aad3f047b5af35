package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/runtime/hosttable"

	"github.com/gwc-dev/gwc/internal/deadport"
)

// hosts builds a host router: exact hosts, wildcard suffixes ("*.x.com" is
// given as "x.com") and the catch-all (-1 for none).
func hosts(t testing.TB, exact, wildcard map[string]int32, catchAll int32) hosttable.Router {
	t.Helper()
	table := func(m map[string]int32) hosttable.Table {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		vals := make([]int32, len(keys))
		for i, k := range keys {
			vals[i] = m[k]
		}
		tb, err := mph.Build(keys, vals)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	return hosttable.Router{Exact: table(exact), Wildcard: table(wildcard), CatchAll: catchAll}
}

// seen is what a test backend reports about the request it got.
type seen struct {
	Backend    string              `json:"backend"`
	Method     string              `json:"method"`
	RequestURI string              `json:"requestURI"`
	Host       string              `json:"host"`
	Proto      string              `json:"proto"`
	Header     map[string][]string `json:"header"`
	Body       string              `json:"body"`
}

// backend starts an HTTP server on 127.0.0.1 that answers with a JSON
// description of each request.
func backend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Server", "backend")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "dropped")
		w.Header().Set("Keep-Alive", "timeout=5")
		json.NewEncoder(w).Encode(seen{name, r.Method, r.RequestURI, r.Host, r.Proto, r.Header, string(body)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostPort(srv *httptest.Server) string { return srv.Listener.Addr().String() }

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", deadport.Reserve(t))
}

// logSink collects Run's log lines and lets a test wait for one.
type logSink struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines []string
	ch    chan struct{}
}

func newLogSink() *logSink { return &logSink{ch: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		s.lines = append(s.lines, l)
	}
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits up to 10s for a line containing want and returns it.
func (s *logSink) waitFor(t testing.TB, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for _, l := range s.lines {
			if strings.Contains(l, want) {
				s.mu.Unlock()
				return l
			}
		}
		s.mu.Unlock()
		select {
		case <-s.ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no log line with %q in:\n%s", want, s.String())
		}
	}
}

// gateway under test: Run in a goroutine, every socket on 127.0.0.1:0.
type testGateway struct {
	addr   map[int]string // Gateway port -> bound address
	status string
	admin  string
	logs   *logSink
	cancel context.CancelFunc
	done   chan int
}

var boundRE = regexp.MustCompile(`msg="listener bound" port=(\d+) addr=(\S+)`)

func startGateway(t testing.TB, cfg *Config, extra ...string) *testGateway {
	t.Helper()
	args := []string{"--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--drain-timeout", "10s"}
	for _, l := range cfg.Listeners {
		args = append(args, "--listen", fmt.Sprintf("%d=127.0.0.1:0", l.Port))
	}
	args = append(args, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	g := &testGateway{addr: map[int]string{}, logs: newLogSink(), cancel: cancel, done: make(chan int, 1)}
	go func() { g.done <- Run(ctx, cfg, args, g.logs) }()
	g.logs.waitFor(t, "msg=ready")
	for _, m := range boundRE.FindAllStringSubmatch(g.logs.String(), -1) {
		port, _ := strconv.Atoi(m[1])
		g.addr[port] = m[2]
	}
	g.status = logAddr(t, g.logs.waitFor(t, `msg="status server bound"`))
	g.admin = logAddr(t, g.logs.waitFor(t, `msg="admin server bound"`))
	t.Cleanup(func() {
		cancel()
		select {
		case <-g.done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return g
}

func logAddr(t testing.TB, line string) string {
	t.Helper()
	_, a, ok := strings.Cut(line, "addr=")
	if !ok {
		t.Fatalf("no addr in %q", line)
	}
	return strings.Fields(a)[0]
}

// stop cancels Run and returns its exit status.
func (g *testGateway) stop(t testing.TB) int {
	t.Helper()
	g.cancel()
	select {
	case code := <-g.done:
		g.done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
		return -1
	}
}

// client is an HTTP client with its own keep-alive pool.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
}

// get sends a request to the gateway's listener for port with the given
// Host header, and returns the response with its body read.
func (g *testGateway) do(t testing.TB, c *http.Client, port int, method, host, target string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+g.addr[port]+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, target, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// seenBy decodes a backend's description from a response body.
func seenBy(t testing.TB, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("response is not from a backend: %q: %v", body, err)
	}
	return s
}

// raw sends bytes over a fresh TCP connection and returns everything read
// until the server closes the connection or 2s pass (closed reports which).
func raw(t testing.TB, addr, data string) (out string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, data); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
	return string(b), !timedOut
}

// responses parses every HTTP response in s (as answers to GET requests).
func responses(t testing.TB, s string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(s))
	var out []*http.Response
	for {
		if _, err := br.Peek(1); err != nil {
			return out
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("parsing responses: %v in %q", err, s)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		out = append(out, resp)
	}
}

// waitForFile waits up to 2 s for the file at path (an access log, whose
// writer flushes when its queue is empty) to contain every one of wants.
func waitForFile(t testing.TB, path string, wants ...string) {
	t.Helper()
	var data []byte
	for range 100 {
		data, _ = os.ReadFile(path)
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(string(data), w) }) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s lacks one of %q:\n%s", path, wants, data)
}
