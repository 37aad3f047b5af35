package runtime

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// gauges returns family's values by cluster_name.
func gauges(mfs map[string]*dto.MetricFamily, family string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mfs[family].GetMetric() {
		out[label(m, "cluster_name")] = m.GetGauge().GetValue()
	}
	return out
}

// TestMembershipAndBreakerGauges ejects an endpoint and holds a circuit
// breaker, and reads both from the exposition.
func TestMembershipAndBreakerGauges(t *testing.T) {
	u := testUpstream(t, &ClusterPolicy{
		Outlier: &OutlierDetection{Consecutive5xx: 1, Interval: 1 << 62, BaseEjectionTime: 1 << 62, MaxEjectionPercent: 100},
		Pool:    ConnectionPool{MaxConnections: 1, MaxPendingRequests: 1, MaxRequests: 1, MaxRetries: 1},
	}, 1, 1, 1)
	m := newMetrics(&Config{Clusters: []Cluster{*u.cluster}}, "gw", "ns")
	ups := []*upstream{u}
	m.ups.Store(&ups)
	srv := httptest.NewServer(m.handler())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	v := u.view(u.static)
	u.report(v, v.hosts[1], 500) // one 5xx ejects it
	if err := u.cb.admit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !u.AllowRetry() {
		t.Fatal("retry refused under the budget")
	}
	held := scrape(t, addr)
	u.cb.release()
	u.RetryDone()
	freed := scrape(t, addr)

	if got := gauges(held, "envoy_cluster_membership_total")["test"]; got != 3 {
		t.Errorf("membership_total %v, want 3", got)
	}
	if got := gauges(held, "envoy_cluster_membership_healthy")["test"]; got != 2 {
		t.Errorf("membership_healthy %v with one endpoint ejected, want 2", got)
	}
	const p = "envoy_cluster_circuit_breakers_default_"
	for name, want := range map[string][2]float64{ // held, freed
		"cx_open": {1, 0}, "rq_open": {1, 0}, "rq_retry_open": {1, 0}, "rq_pending_open": {0, 0},
		"remaining_cx": {0, 1}, "remaining_rq": {0, 1}, "remaining_retries": {0, 1}, "remaining_pending": {1, 1},
	} {
		if got := gauges(held, p+name)["test"]; got != want[0] {
			t.Errorf("%s%s = %v while held, want %v", p, name, got, want[0])
		}
		if got := gauges(freed, p+name)["test"]; got != want[1] {
			t.Errorf("%s%s = %v once released, want %v", p, name, got, want[1])
		}
	}
}

// TestTCPMetrics echoes through a TCP route and reads istio_tcp_*.
func TestTCPMetrics(t *testing.T) {
	cfg := l4Config("TCP", []L4Route{{ID: "vs.yaml:5:5 edge/echo tcp[0]", Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}}},
		echoBackend(t, "echo", nil))
	g := startGateway(t, cfg)
	c, err := net.Dial("tcp", g.addr[31400])
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "hello")
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(c)
	c.Close()
	if string(out) != "echo: hello" {
		t.Fatalf("echo %q", out)
	}
	sum := func(mfs map[string]*dto.MetricFamily, name string) float64 {
		var n float64
		for _, m := range mfs[name].GetMetric() {
			if f := label(m, "response_flags"); f != "-" {
				t.Errorf("%s response_flags %q", name, f)
			}
			if s := label(m, "destination_service"); s != cfg.Clusters[0].Name[len("outbound|"):] {
				t.Errorf("%s destination_service %q", name, s)
			}
			n += m.GetCounter().GetValue()
		}
		return n
	}
	// The connection is counted closed once the proxy's side has ended,
	// which may be just after the client read the end.
	var mfs map[string]*dto.MetricFamily
	for range 100 {
		if mfs = scrape(t, g.status); sum(mfs, "istio_tcp_connections_closed_total") >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"istio_tcp_connections_opened_total": 1,
		"istio_tcp_connections_closed_total": 1,
		"istio_tcp_received_bytes_total":     float64(len("hello")),
		"istio_tcp_sent_bytes_total":         float64(len("echo: hello")),
	} {
		if got := sum(mfs, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
