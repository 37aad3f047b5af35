package runtime

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Real upstream failures: backends that die, stop listening, or reset
// their connection before or during the response. Istio's default retry
// policy retries only what failed to connect, to another endpoint.

func TestBackendKilledMidTest(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	b := newCountingBackend(t, "b", nil)
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{LB: LBRoundRobin}, a, b)}))
	c := client()
	for i := range 40 {
		if i == 10 {
			a.CloseClientConnections()
			a.Close() // the process is gone: listener and connections
		}
		resp, body := g.do(t, c, 80, "GET", "svc", "/", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q, want 200 from the live endpoint", i, resp.StatusCode, body)
		}
		if i > 10 && body != "b" {
			t.Fatalf("request %d answered by %q after a died", i, body)
		}
	}
}

func TestListenerClosedKeepsConnections(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	b := newCountingBackend(t, "b", nil)
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{LB: LBRoundRobin}, a, b)}))
	c := client()
	g.do(t, c, 80, "GET", "svc", "/", nil)
	a.Listener.Close() // no new connections; established ones still work
	for i := range 20 {
		resp, body := g.do(t, c, 80, "GET", "svc", "/", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

// resetConn hijacks the connection and closes it with a TCP reset.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestResetMidResponseIsNotRetried(t *testing.T) {
	a := newCountingBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		resetConn(t, w)
	})
	b := newCountingBackend(t, "b", nil)
	// Round robin starts at a: the first request meets the reset.
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(&ClusterPolicy{LB: LBRoundRobin}, a, b)}))
	c := client()
	req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
	req.Host = "svc"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err == nil || string(body) != "partial" {
		t.Fatalf("got %d %q err=%v; want the started response cut short", resp.StatusCode, body, err)
	}
	if n := a.requests.Load(); n != 1 {
		t.Errorf("backend saw %d requests; a response that started must not be retried", n)
	}
}

func TestConsumedBodyIsNotReplayed(t *testing.T) {
	var got atomic.Value
	a := newCountingBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		resetConn(t, w) // after reading the body, before any header
	})
	g := startGateway(t, oneRoute(t, []Cluster{policyCluster(nil, a)}))
	req, _ := http.NewRequest("POST", "http://"+g.addr[80]+"/", strings.NewReader("payload"))
	req.Host = "svc"
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(body) != bodyConnTermination {
		t.Fatalf("got %d %q, want 503 %q", resp.StatusCode, body, bodyConnTermination)
	}
	if n := a.requests.Load(); n != 1 {
		t.Errorf("backend saw %d requests: a consumed body was replayed", n)
	}
	if got.Load() != "payload" {
		t.Errorf("backend read %q", got.Load())
	}
}

func TestEjectedAfterConnectFailures(t *testing.T) {
	a := newCountingBackend(t, "a", nil)
	cl := policyCluster(&ClusterPolicy{LB: LBRoundRobin, Outlier: &OutlierDetection{ConsecutiveGateway: 1, Interval: time.Hour,
		BaseEjectionTime: time.Hour, MaxEjectionPercent: 100}}, a)
	deadAddress := deadAddr(t)
	cl.Endpoints = append(cl.Endpoints, Endpoint{Address: deadAddress, Weight: 1})
	g := startGateway(t, oneRoute(t, []Cluster{cl}))
	c := client()
	for i := range 10 {
		resp, body := g.do(t, c, 80, "GET", "svc", "/", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if !strings.Contains(g.logs.String(), "endpoint="+deadAddress) {
		t.Errorf("the unreachable endpoint was not ejected:\n%s", g.logs.String())
	}
}
