package runtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowBackend holds every request until release is called (or its client
// goes away), after telling arrived.
func slowBackend(t *testing.T) (srv *httptest.Server, arrived chan struct{}, release func()) {
	arrived, released := make(chan struct{}, 64), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-released:
			io.WriteString(w, "done")
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(release)
	return srv, arrived, release
}

func readyStatus(t *testing.T, addr string) int {
	t.Helper()
	resp, err := client().Get("http://" + addr + "/healthz/ready")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDrainLosesNoInFlightRequest(t *testing.T) {
	slow, arrived, release := slowBackend(t)
	cfg := oneRoute(t, []Cluster{staticCluster("slow", hostPort(slow))})
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Matches = []Match{{Path: prefix("/slow")}}
	g := startGateway(t, cfg)
	if code := readyStatus(t, g.status); code != 200 {
		t.Fatalf("ready before drain: %d, want 200", code)
	}

	// An idle keep-alive connection (its one request was a local 404).
	idle, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleBR := bufio.NewReader(idle)
	io.WriteString(idle, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	if resp, err := http.ReadResponse(idleBR, nil); err != nil || resp.StatusCode != 404 || resp.Close {
		t.Fatalf("idle connection's request: %v %v", resp, err)
	}

	// A keep-alive connection with a request in flight.
	busy, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyBR := bufio.NewReader(busy)
	io.WriteString(busy, "GET /slow/raw HTTP/1.1\r\nHost: h\r\n\r\n")

	const n = 6
	type result struct {
		status int
		body   string
		close  bool
		err    error
	}
	results := make(chan result, n)
	c := client()
	for range n {
		go func() {
			req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/slow", nil)
			req.Host = "h"
			resp, err := c.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(b), resp.Close, err}
		}()
	}
	timeout := time.After(10 * time.Second)
	for range n + 1 {
		select {
		case <-arrived:
		case <-timeout:
			t.Fatal("the slow requests did not reach the backend")
		}
	}

	g.cancel() // SIGTERM

	// Readiness turns 503, new connections are refused and the idle
	// connection is closed, while the requests in flight wait.
	saw503, refused := false, false
	for range 200 {
		saw503 = saw503 || readyStatus(t, g.status) == 503
		if !refused {
			if c, err := net.DialTimeout("tcp", g.addr[80], time.Second); err != nil {
				refused = true
			} else {
				c.Close()
			}
		}
		if saw503 && refused {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !saw503 || !refused {
		t.Errorf("during the drain: readiness 503 seen %v, new connections refused %v; want both", saw503, refused)
	}
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleBR.ReadByte(); err != io.EOF {
		t.Errorf("idle keep-alive connection during the drain: %v, want EOF", err)
	}
	select {
	case r := <-results:
		t.Fatalf("a request finished before its backend answered: %+v", r)
	default:
	}

	release()
	for i := range n {
		select {
		case r := <-results:
			if r.err != nil || r.status != 200 || r.body != "done" {
				t.Errorf("in-flight request %d: %+v, want 200 done", i, r)
			}
			if !r.close {
				t.Errorf("in-flight request %d: response without Connection: close during the drain", i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("in-flight requests did not finish")
		}
	}
	busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(busyBR, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("raw in-flight request: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, err := busyBR.ReadByte(); err != io.EOF {
		t.Errorf("keep-alive connection after its response during the drain: %v, want EOF", err)
	}
	if code := g.stop(t); code != 0 {
		t.Errorf("exit %d after drain, want 0", code)
	}
}

func TestDrainTimeoutClosesStuckRequests(t *testing.T) {
	slow, arrived, _ := slowBackend(t)
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("slow", hostPort(slow))}), "--drain-timeout", "200ms")
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
		resp, err := client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("request did not reach the backend")
	}
	if code := g.stop(t); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !strings.Contains(g.logs.String(), "drain timeout passed") {
		t.Errorf("no warning about the forced close:\n%s", g.logs)
	}
	select {
	case <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck request was not closed")
	}
}
