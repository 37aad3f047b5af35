package runtime

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// obsConfig is routingConfig with cluster A live, B dead (connect failure)
// and a third cluster without endpoints (no healthy upstream) behind
// a.example.com/empty.
func obsConfig(t testing.TB, live string) *Config {
	cfg := routingConfig(t, live, deadAddr(t))
	cfg.Clusters = append(cfg.Clusters, Cluster{Name: "outbound|80||empty.default.svc.cluster.local"})
	vh := &cfg.Listeners[0].VirtualHosts[0]
	vh.Routes = append([]Route{{ID: "vs.yaml:50:7 default/a http[5]", Matches: []Match{{Path: exact("/empty")}},
		Clusters: []WeightedCluster{{Cluster: 2, Weight: 100}}}}, vh.Routes...)
	return cfg
}

// knownSequence sends 3 requests answered by A (200), 2 without a route
// (404 NR), one to the dead cluster (503 UF,URX) and one to the empty one
// (503 UH).
func knownSequence(t *testing.T, g *testGateway) {
	c := client()
	for _, tt := range []struct {
		host, target string
		want         int
	}{
		{"a.example.com", "/exact", 200},
		{"a.example.com", "/api/x", 200},
		{"a.example.com", "/api/y", 200},
		{"a.example.com", "/nothing", 404},
		{"unknown.example.com", "/", 404},
		{"a.example.com", "/items/1", 503},
		{"a.example.com", "/empty", 503},
	} {
		resp, _ := g.do(t, c, 80, "GET", tt.host, tt.target, http.Header{"User-Agent": {"obs-test"}})
		if resp.StatusCode != tt.want {
			t.Fatalf("%s%s: %d, want %d", tt.host, tt.target, resp.StatusCode, tt.want)
		}
	}
}

// scrape fetches and parses /stats/prometheus with the Prometheus text
// parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return mfs
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return "<absent>"
}

func TestMetricsAfterKnownSequence(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, obsConfig(t, hostPort(a)))
	knownSequence(t, g)
	// A request is counted after its response is written: the client may
	// read the last one before the server has counted it (response bytes
	// are observed last).
	// The wait is bounded generously: on a loaded machine the last count
	// can trail the response by more than a second.
	var mfs map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		mfs = scrape(t, g.status)
		var total uint64
		for _, m := range mfs["istio_response_bytes"].GetMetric() {
			total += m.GetHistogram().GetSampleCount()
		}
		if total >= 7 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	type key struct{ code, flags, svc string }
	got := map[key]float64{}
	reqs := mfs["istio_requests_total"]
	if reqs == nil {
		t.Fatalf("no istio_requests_total in %v", keys(mfs))
	}
	for _, m := range reqs.GetMetric() {
		for _, l := range istioLabels {
			if label(m, l) == "<absent>" {
				t.Errorf("istio_requests_total lacks label %s", l)
			}
		}
		if r := label(m, "reporter"); r != "source" {
			t.Errorf("reporter %q, want source", r)
		}
		if p := label(m, "request_protocol"); p != "http" {
			t.Errorf("request_protocol %q", p)
		}
		got[key{label(m, "response_code"), label(m, "response_flags"), label(m, "destination_service")}] += m.GetCounter().GetValue()
	}
	want := map[key]float64{
		{"200", "-", "a.default.svc.cluster.local"}:      3,
		{"404", "NR", "unknown"}:                         2,
		{"503", "UF,URX", "b.default.svc.cluster.local"}: 1,
		{"503", "UH", "empty.default.svc.cluster.local"}: 1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("istio_requests_total%+v = %v, want %v", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}

	// Each histogram counted every request once.
	for _, name := range []string{"istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes"} {
		var n uint64
		for _, m := range mfs[name].GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
		if n != 7 {
			t.Errorf("%s counted %d requests, want 7", name, n)
		}
	}
	// The service labels of a Kubernetes host.
	for _, m := range reqs.GetMetric() {
		if label(m, "destination_service") == "a.default.svc.cluster.local" {
			if label(m, "destination_service_name") != "a" || label(m, "destination_service_namespace") != "default" {
				t.Errorf("destination name/namespace: %s/%s", label(m, "destination_service_name"), label(m, "destination_service_namespace"))
			}
		}
	}
	// Cluster membership, process and Go runtime metrics.
	members := map[string]float64{}
	for _, m := range mfs["envoy_cluster_membership_total"].GetMetric() {
		members[label(m, "cluster_name")] = m.GetGauge().GetValue()
	}
	if members["outbound|80||a.default.svc.cluster.local"] != 1 || members["outbound|80||empty.default.svc.cluster.local"] != 0 {
		t.Errorf("membership %v", members)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "envoy_cluster_membership_healthy"} {
		if mfs[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func keys(m map[string]*dto.MetricFamily) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAccessLogText(t *testing.T) {
	a := backend(t, "A")
	path := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, obsConfig(t, hostPort(a)), "--access-log", path)
	knownSequence(t, g)
	if code := g.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines, want 7:\n%s", len(lines), data)
	}
	want := []struct{ code, flags, details, cluster string }{
		{"200", "-", "via_upstream", "outbound|80||a.default.svc.cluster.local"},
		{"200", "-", "via_upstream", "outbound|80||a.default.svc.cluster.local"},
		{"200", "-", "via_upstream", "outbound|80||a.default.svc.cluster.local"},
		{"404", "NR", "route_not_found", "-"},
		{"404", "NR", "route_not_found", "-"},
		{"503", "UF,URX", "upstream_reset_before_response_started{connection_failure}", "outbound|80||b.default.svc.cluster.local"},
		{"503", "UH", "no_healthy_upstream", "outbound|80||empty.default.svc.cluster.local"},
	}
	for i, l := range lines {
		// [time] "GET /path HTTP/1.1" code flags details - "reason" in out dur svc "xff" "ua" "id" "authority" "upstream" cluster - local remote sni route
		_, rest, ok := strings.Cut(l, `" `)
		f := strings.Fields(rest)
		if !ok || len(f) < 19 {
			t.Fatalf("line %d: %q", i, l)
		}
		w := want[i]
		if f[0] != w.code || f[1] != w.flags || f[2] != w.details || f[14] != w.cluster {
			t.Errorf("line %d: code %s flags %s details %s cluster %s, want %+v\n%s", i, f[0], f[1], f[2], f[14], w, l)
		}
		if !strings.Contains(l, `"127.0.0.1" "obs-test"`) || !strings.HasPrefix(l, "[20") {
			t.Errorf("line %d lacks the user agent or start time: %s", i, l)
		}
	}
	t.Logf("first and last lines:\n%s\n%s", lines[0], lines[6])
	if !strings.Contains(lines[0], `"`+hostPort(a)+`"`) {
		t.Errorf("no upstream host in %s", lines[0])
	}
	if !strings.Contains(lines[0], `"GET /exact HTTP/1.1"`) {
		t.Errorf("request line: %s", lines[0])
	}
}

func TestAccessLogJSON(t *testing.T) {
	a := backend(t, "A")
	path := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, obsConfig(t, hostPort(a)), "--access-log", path, "--access-log-format", "json")
	knownSequence(t, g)
	g.stop(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		f, _ := e["response_flags"].(string)
		flags = append(flags, f)
		if e["request_id"] == nil || e["user_agent"] != "obs-test" || e["authority"] == nil {
			t.Errorf("missing fields: %s", l)
		}
	}
	got := strings.Join(flags, " ")
	if want := "- - - NR NR UF,URX UH"; got != want {
		t.Errorf("flags %q, want %q", got, want)
	}
}

// TestTimeoutFlag drives the hook a route timeout calls (markTimeout) and
// checks the 504 is logged and counted as UT.
func TestTimeoutFlag(t *testing.T) {
	cfg := routingConfig(t, "127.0.0.1:1", "127.0.0.1:1")
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "access.log")
	ob, err := newObserver(cfg, &obsOptions{accessLog: path, accessLogFormat: "text"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := ob.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noteRoute(w, &cfg.Listeners[0].VirtualHosts[0].Routes[0], 0)
		markTimeout(w)
		localReply(w, http.StatusGatewayTimeout, "upstream request timeout", false)
	}), "127.0.0.1:80")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://a.example.com/exact", nil))
	ob.close()
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `" 504 UT upstream_response_timeout `) {
		t.Errorf("log: %s", data)
	}
	mfs, _ := ob.metrics.reg.Gather()
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "istio_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			found = found || label(m, "response_flags") == "UT" && label(m, "response_code") == "504"
		}
	}
	if !found {
		t.Error("no istio_requests_total with 504 UT")
	}
}

func TestResponseFlagsString(t *testing.T) {
	for f, want := range map[respFlags]string{0: "-", flagNR: "NR", flagUF | flagURX: "UF,URX", flagURX | flagUH | flagDC: "UH,DC,URX"} {
		if got := f.String(); got != want {
			t.Errorf("%d: %q, want %q", f, got, want)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, obsConfig(t, hostPort(a)), "--admin-pprof")
	knownSequence(t, g)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + g.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/stats"); code != 200 || !strings.Contains(body, `istio_requests_total{`) || !strings.Contains(body, `response_flags="NR"`) {
		t.Errorf("/stats: %d %.300s", code, body)
	}
	if code, body := get("/routes"); code != 200 || !strings.Contains(body, "vs.yaml:10:7 default/a http[0]") {
		t.Errorf("/routes: %d %.300s", code, body)
	}
	var info map[string]any
	code, body := get("/server_info")
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil || info["digest"] != "sha256:test" || info["state"] != "LIVE" {
		t.Errorf("/server_info: %d %s", code, body)
	}
	if code, _ := get("/debug/pprof/"); code != 200 {
		t.Errorf("/debug/pprof/ with --admin-pprof: %d", code)
	}
	if code, _ := get("/stats/prometheus"); code != 200 {
		t.Errorf("admin /stats/prometheus: %d", code)
	}
	g2 := startGateway(t, obsConfig(t, hostPort(a)))
	resp, err := http.Get("http://" + g2.admin + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/debug/pprof/ without the flag: %d", resp.StatusCode)
	}
}

func TestStartupErrors(t *testing.T) {
	cfg := obsConfig(t, "127.0.0.1:1")
	taken := httptest.NewServer(http.NotFoundHandler())
	defer taken.Close()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--access-log", filepath.Join(t.TempDir(), "no", "such", "dir", "a.log")}, 1, "opening access log"},
		{[]string{"--admin-addr", hostPort(taken)}, 1, "binding admin server on " + hostPort(taken)},
		{[]string{"--access-log-format", "xml"}, 2, `--access-log-format "xml"`},
		{[]string{"--log-format", "yaml"}, 2, `--log-format "yaml"`},
	} {
		logs := newLogSink()
		args := append([]string{"--status-addr", "", "--listen", "80=127.0.0.1:0"}, tt.args...)
		if code := Run(t.Context(), cfg, args, logs); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
		if !strings.Contains(logs.String(), tt.want) {
			t.Errorf("%v: log lacks %q:\n%s", tt.args, tt.want, logs)
		}
	}
}

func TestJSONLogFormat(t *testing.T) {
	logs := newLogSink()
	args := []string{"--status-addr", "", "--admin-addr", "", "--listen", "80=127.0.0.1:0", "--log-format", "json"}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- Run(ctx, obsConfig(t, "127.0.0.1:1"), args, logs) }()
	logs.waitFor(t, `"msg":"ready"`)
	cancel()
	<-done
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Errorf("not JSON: %s", l)
		}
	}
}

// TestUpgradeIsLogged checks an upgraded connection, which the proxy
// answers on the hijacked connection, is logged with its 101.
func TestUpgradeIsLogged(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nhello")
		brw.Flush()
	}))
	defer up.Close()
	path := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(up))}), "--access-log", path)
	out, _ := raw(t, g.addr[80], "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 101") || !strings.HasSuffix(out, "hello") {
		t.Fatalf("upgrade: %q", out)
	}
	// Any other upgrade is refused, as Envoy refuses upgrades it is not
	// configured for, and logged with Envoy's details.
	out, _ = raw(t, g.addr[80], "GET /other HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: probe-proto/1\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 403") {
		t.Fatalf("upgrade probe-proto/1: %q, want 403", out)
	}
	// The drain does not wait for hijacked connections: wait for the line
	// (the writer flushes as soon as its queue is empty).
	waitForFile(t, path, `"GET / HTTP/1.1" 101 - via_upstream `, `"GET /other HTTP/1.1" 403 - upgrade_failed `)
}

// TestAccessLogAfterClose checks a request finishing after the log closed
// (past the drain timeout) is dropped, not a crash.
func TestAccessLogAfterClose(t *testing.T) {
	cfg := routingConfig(t, "127.0.0.1:1", "127.0.0.1:1")
	ob, err := newObserver(cfg, &obsOptions{accessLog: filepath.Join(t.TempDir(), "a.log"), accessLogFormat: "text"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h := ob.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), "127.0.0.1:80")
	ob.close()
	ob.close() // idempotent
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	mfs, _ := ob.metrics.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "gwc_access_log_dropped_total" && mf.GetMetric()[0].GetCounter().GetValue() != 1 {
			t.Errorf("dropped %v, want 1", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}

func TestEndpointChangesAreLogged(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	up := newUpstream(&Cluster{Name: "outbound|80||svc.example", Resolve: true, Endpoints: []Endpoint{{Address: "svc.example:80"}}}, stop, slog.New(slog.DiscardHandler), nil)
	up.dns.ttlLookup = nil // only the stub below answers: no query leaves the machine
	answer := addrs("10.0.0.1")
	up.dns.lookup = func(context.Context, string, string) ([]netip.Addr, error) { return answer, nil }
	logs := newLogSink()
	w := newEndpointWatch([]*upstream{up}, slog.New(slog.NewTextHandler(logs, nil)))
	w.check()
	if logs.String() != "" {
		t.Fatalf("logged without a change: %s", logs)
	}
	up.dns.get(t.Context())
	w.check()
	answer = addrs("10.0.0.1", "10.0.0.2")
	up.dns.refresh()
	w.check()
	w.check()
	got := logs.String()
	if strings.Count(got, `msg="upstream endpoints changed"`) != 2 ||
		!strings.Contains(got, `endpoints=[10.0.0.1:80] before=0`) ||
		!strings.Contains(got, `endpoints="[10.0.0.1:80 10.0.0.2:80]" before=1`) {
		t.Errorf("logs:\n%s", got)
	}
}
