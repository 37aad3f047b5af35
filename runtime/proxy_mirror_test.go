package runtime

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stuckMirror is a mirror backend that holds every request until the test
// ends, counting them.
type stuckMirror struct {
	srv             *httptest.Server
	inflight, total atomic.Int32
	release         chan struct{}
}

func newStuckMirror(t *testing.T) *stuckMirror {
	m := &stuckMirror{release: make(chan struct{})}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.total.Add(1)
		m.inflight.Add(1)
		defer m.inflight.Add(-1)
		select {
		case <-m.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(m.release)
		m.srv.Close()
	})
	return m
}

func mirrorConfig(t *testing.T, main string, mirror Cluster) *Config {
	cfg := oneRoute(t, []Cluster{staticCluster("main", main), mirror})
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Mirrors = []Mirror{{Cluster: 1, Percent: 100}}
	return cfg
}

// mirrorDropped reads gwc_mirror_requests_dropped_total for the mirror
// cluster and reason.
func mirrorDropped(t *testing.T, g *testGateway, reason string) float64 {
	t.Helper()
	for _, m := range scrape(t, g.status)["gwc_mirror_requests_dropped_total"].GetMetric() {
		if label(m, "cluster_name") == "mirror" && label(m, "reason") == reason {
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no gwc_mirror_requests_dropped_total{cluster_name=mirror,reason=%s}", reason)
	return 0
}

// waitInflight waits until the mirror holds n requests.
func (m *stuckMirror) waitInflight(t *testing.T, n int32) {
	t.Helper()
	for range 500 {
		if m.inflight.Load() == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("mirror holds %d requests, want %d", m.inflight.Load(), n)
}

// sendMain sends n requests and checks each is answered by the main
// backend while the mirror holds its copies.
func sendMain(t *testing.T, g *testGateway, n int) {
	t.Helper()
	c := client()
	for i := range n {
		resp, body := g.do(t, c, 80, "POST", "h", fmt.Sprintf("/r%d", i), nil)
		if resp.StatusCode != 200 || seenBy(t, body).Backend != "main" {
			t.Fatalf("request %d: %d %q, want the main backend's answer, whatever the mirror does", i, resp.StatusCode, body)
		}
	}
}

// Past --max-mirror-requests copies in flight, a copy is dropped and
// counted; the requests themselves are answered.
func TestMirrorProcessLimit(t *testing.T) {
	main, mirror := backend(t, "main"), newStuckMirror(t)
	g := startGateway(t, mirrorConfig(t, hostPort(main), staticCluster("mirror", hostPort(mirror.srv))), "--max-mirror-requests", "2")
	sendMain(t, g, 5)
	mirror.waitInflight(t, 2)
	if got := mirrorDropped(t, g, "limit"); got != 3 {
		t.Errorf("dropped for the limit: %v, want 3", got)
	}
	if got := mirrorDropped(t, g, "overflow"); got != 0 {
		t.Errorf("dropped for overflow: %v, want 0", got)
	}
	if got := mirror.total.Load(); got != 2 {
		t.Errorf("the mirror saw %d copies, want 2", got)
	}
}

// Mirror copies count against the mirror cluster's circuit breakers: with
// http2MaxRequests 1, one copy is in flight and the others overflow.
func TestMirrorCountsAgainstBreakers(t *testing.T) {
	main, mirror := backend(t, "main"), newStuckMirror(t)
	mc := staticCluster("mirror", hostPort(mirror.srv))
	mc.Policy = &ClusterPolicy{Pool: ConnectionPool{MaxRequests: 1}}
	g := startGateway(t, mirrorConfig(t, hostPort(main), mc))
	sendMain(t, g, 4)
	mirror.waitInflight(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for mirrorDropped(t, g, "overflow") != 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := mirrorDropped(t, g, "overflow"); got != 3 {
		t.Errorf("dropped for overflow: %v, want 3", got)
	}
	if got := mirror.total.Load(); got != 1 {
		t.Errorf("the mirror saw %d copies, want 1", got)
	}
}

func TestMaxMirrorRequestsFlag(t *testing.T) {
	out := newLogSink()
	if code := Run(t.Context(), oneRoute(t, nil), []string{"--max-mirror-requests", "-1"}, out); code != 2 {
		t.Errorf("--max-mirror-requests -1: exit %d, want 2", code)
	}
	if !strings.Contains(out.String(), "--max-mirror-requests must not be negative") {
		t.Errorf("usage error: %q", out.String())
	}
}
