package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// otlpReceiver is the collector's OTLP trace service (gRPC), served on
// loopback; it keeps every span it is sent.
type otlpReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	addr     string
	mu       sync.Mutex
	spans    []*tracepb.Span
	resource map[string]string
	arrived  chan struct{} // signalled on every export
}

func startReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{addr: ln.Addr().String(), arrived: make(chan struct{}, 1), resource: map[string]string{}}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, r)
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return r
}

func (r *otlpReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			r.resource[kv.Key] = kv.Value.GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// waitSpan waits (bounded) for the span of traceID (hex) and returns it.
func (r *otlpReceiver) waitSpan(t *testing.T, traceID string) *tracepb.Span {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if s := r.span(traceID); s != nil {
			return s
		}
		select {
		case <-r.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no span of trace %s reached the receiver; it has %d spans", traceID, r.count())
		}
	}
}

func (r *otlpReceiver) span(traceID string) *tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			return s
		}
	}
	return nil
}

func (r *otlpReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spans)
}

// attrs are a span's attributes, integers written in decimal.
func attrs(s *tracepb.Span) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes {
		if _, isInt := kv.Value.Value.(*commonpb.AnyValue_IntValue); isInt {
			m[kv.Key] = strconv.FormatInt(kv.Value.GetIntValue(), 10)
		} else {
			m[kv.Key] = kv.Value.GetStringValue()
		}
	}
	return m
}

// headerBackend is a real HTTP server that records the trace headers of
// the last request it got.
type headerBackend struct {
	port int
	mu   sync.Mutex
	last http.Header
}

func startHeaderBackend(t *testing.T) *headerBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &headerBackend{port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last = r.Header.Clone()
		b.mu.Unlock()
		w.Write([]byte("ok"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *headerBackend) header(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.last.Values(name), ",")
}

// tracedShop is the shop gateway with one route to host a (port 8080) and
// one, /dead, to a port where nothing listens; tel is the Telemetry.
func tracedShop(t *testing.T, backendPort int, tel string) map[string]string {
	return map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", backendPort),
		"dead.yaml":    staticEntry("dead", "dead.shop.svc.cluster.local", closedPort(t)),
		"vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match: [{uri: {prefix: /dead}}]
    route: [{destination: {host: dead.shop.svc.cluster.local}}]
    retries: {attempts: 0}
  - route: [{destination: {host: a.shop.svc.cluster.local}}]
`,
		"telemetry.yaml": tel,
	}
}

// buildTraced builds files with the mesh config mesh.
func buildTraced(t *testing.T, files map[string]string, mesh string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meshFile := filepath.Join(t.TempDir(), "mesh.yaml")
	if err := os.WriteFile(meshFile, []byte(mesh), 0o644); err != nil {
		t.Fatal(err)
	}
	return buildWith(t, []string{"--mesh-config", meshFile}, dir)
}

// traceparent splits a traceparent into trace id, span id and flags.
func traceparent(t *testing.T, v string) (traceID, spanID, flags string) {
	t.Helper()
	parts := strings.Split(v, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 {
		t.Fatalf("traceparent %q is not version 00 with a trace and a span id", v)
	}
	return parts[1], parts[2], parts[3]
}

// The opentelemetry provider at 100%: spans with Envoy's name and tags,
// the caller's context continued, the gateway's span the backend's
// parent, a not-sampled caller respected, a bad header left alone.
func TestTracingOpenTelemetry(t *testing.T) {
	recv := startReceiver(t)
	be := startHeaderBackend(t)
	_, port, _ := net.SplitHostPort(recv.addr)
	bin := buildTraced(t, tracedShop(t, be.port, `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: otel}]
    randomSamplingPercentage: 100
    customTags:
      team: {literal: {value: shop}}
      user: {header: {name: x-user, defaultValue: anonymous}}
      zone: {environment: {name: GWC_TEST_ZONE, defaultValue: nowhere}}
`), "extensionProviders:\n- name: otel\n  opentelemetry: {service: 127.0.0.1, port: "+port+"}\n")
	// The endpoint is the provider's: no OTEL_EXPORTER_OTLP_ENDPOINT.
	in := startIngressEnv(t, bin, []string{"OTEL_BSP_SCHEDULE_DELAY=50", "GWC_TEST_ZONE=east",
		"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="}, nil, 80)
	c := &http.Client{}

	// No incoming context: a new trace, the gateway's span its root.
	if code, _ := get(t, c, in.url(80)+"/items?x=1", "shop.example.com", "X-User", "ann", "X-Envoy-Force-Trace", "true"); code != 200 {
		t.Fatalf("status %d", code)
	}
	tid, sid, flags := traceparent(t, be.header("Traceparent"))
	if flags != "01" {
		t.Errorf("upstream traceparent flags %s, want 01 (sampled)", flags)
	}
	if v := be.header("X-Envoy-Force-Trace"); v != "" {
		t.Errorf("x-envoy-force-trace from the client reached the backend: %q", v)
	}
	s := recv.waitSpan(t, tid)
	if got := hex.EncodeToString(s.SpanId); got != sid {
		t.Errorf("backend's parent %s is not the gateway's span %s", sid, got)
	}
	if len(s.ParentSpanId) != 0 {
		t.Errorf("root span has parent %x", s.ParentSpanId)
	}
	if s.Name != "a.shop.svc.cluster.local:8080/*" || s.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span %q kind %v, want a.shop.svc.cluster.local:8080/* SERVER", s.Name, s.Kind)
	}
	a := attrs(s)
	want := map[string]string{
		"http.method": "GET", "http.url": "http://shop.example.com/items?x=1", "http.protocol": "HTTP/1.1",
		"http.status_code": "200", "response_flags": "-", "upstream_cluster": "outbound|8080||a.shop.svc.cluster.local",
		"upstream_address": fmt.Sprintf("127.0.0.1:%d", be.port), "peer.address": "127.0.0.1",
		"guid:x-request-id": be.header("X-Request-Id"), "istio.canonical_service": "istio-ingressgateway",
		"response_size": "2", "request_size": "0", "component": "proxy",
		"team": "shop", "user": "ann", "zone": "east",
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, a[k], v)
		}
	}
	if a["guid:x-request-id"] == "" {
		t.Error("no x-request-id reached the backend")
	}
	if s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Error("a 200 has error status")
	}

	// A sampled caller: its trace continues, the gateway's span its child.
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	get(t, c, in.url(80)+"/", "shop.example.com", "Traceparent", "00-"+callerTrace+"-"+callerSpan+"-01", "Tracestate", "vendor=x")
	s = recv.waitSpan(t, callerTrace)
	if got := hex.EncodeToString(s.ParentSpanId); got != callerSpan {
		t.Errorf("parent %s, want the caller's %s", got, callerSpan)
	}
	if a := attrs(s); a["user"] != "anonymous" {
		t.Errorf("header tag without the header = %q, want its default", a["user"])
	}
	tid, sid, _ = traceparent(t, be.header("Traceparent"))
	if tid != callerTrace || sid != hex.EncodeToString(s.SpanId) {
		t.Errorf("upstream traceparent trace %s span %s, want %s and the gateway's span %x", tid, sid, callerTrace, s.SpanId)
	}
	if ts := be.header("Tracestate"); ts != "vendor=x" {
		t.Errorf("tracestate %q, want vendor=x", ts)
	}

	// A caller that did not sample: no span, the decision passed on.
	const unsampled = "0af7651916cd43dd8448eb211c80319c"
	get(t, c, in.url(80)+"/", "shop.example.com", "Traceparent", "00-"+unsampled+"-b7ad6b7169203331-00")
	tid, _, flags = traceparent(t, be.header("Traceparent"))
	if tid != unsampled || flags != "00" {
		t.Errorf("upstream traceparent %s, want trace %s not sampled", be.header("Traceparent"), unsampled)
	}

	// An unparsable traceparent: no span (Envoy's null span), forwarded
	// as it came, the request served.
	if code, _ := get(t, c, in.url(80)+"/", "shop.example.com", "Traceparent", "00-zzz-1-01"); code != 200 {
		t.Errorf("a bad traceparent got %d", code)
	}
	if v := be.header("Traceparent"); v != "00-zzz-1-01" {
		t.Errorf("bad traceparent reached the backend as %q", v)
	}

	// A 5xx from the gateway: error status and tag.
	const failing = "11111111111111111111111111111111"
	if code, _ := get(t, c, in.url(80)+"/dead", "shop.example.com", "Traceparent", "00-"+failing+"-2222222222222222-01"); code != 503 {
		t.Fatalf("dead upstream: status %d", code)
	}
	s = recv.waitSpan(t, failing)
	if a := attrs(s); a["http.status_code"] != "503" || a["error"] != "true" || a["response_flags"] != "UF" && a["response_flags"] != "URX,UF" {
		t.Errorf("5xx span attributes %v", a)
	}
	if s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("5xx span status %v, want error", s.Status)
	}
	if s.Name != "dead.shop.svc.cluster.local:8080/dead*" {
		t.Errorf("span name %q", s.Name)
	}
	// Every span arrived (the failing one last): the unsampled and the
	// unparsable requests made none.
	if recv.span(unsampled) != nil {
		t.Error("a span of the caller's unsampled trace was exported")
	}
	if n := recv.count(); n != 3 {
		t.Errorf("receiver has %d spans, want 3", n)
	}
	if recv.resource["service.name"] != "istio-ingressgateway.istio-system" {
		t.Errorf("service.name %q", recv.resource["service.name"])
	}
	// The counter moves once the exporter's call returns, which can be
	// after the receiver has the spans.
	var exported float64
	waitFor(t, func() bool {
		exported = gauge(in.scrape(t), "gwc_tracing_spans_exported_total")
		return exported >= 3
	}, "3 spans counted in gwc_tracing_spans_exported_total")
	if exported != 3 {
		t.Errorf("gwc_tracing_spans_exported_total = %v, want 3", exported)
	}
}

// gauge returns the value of an unlabelled counter of the scrape.
func gauge(mfs map[string]*dto.MetricFamily, name string) float64 {
	mf := mfs[name]
	if mf == nil || len(mf.Metric) == 0 {
		return -1
	}
	return mf.Metric[0].GetCounter().GetValue()
}

// The zipkin provider at 0%: nothing sampled, except what
// x-client-trace-id forces and what a B3 caller sampled; B3 headers go
// upstream; OTEL_EXPORTER_OTLP_ENDPOINT names the collector.
func TestTracingZipkinB3(t *testing.T) {
	recv := startReceiver(t)
	be := startHeaderBackend(t)
	bin := buildTraced(t, tracedShop(t, be.port, `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: gw, namespace: shop}
spec:
  selector:
    matchLabels: {istio: ingressgateway}
  tracing:
  - randomSamplingPercentage: 0
`), "defaultProviders: {tracing: [zipkin]}\nextensionProviders:\n- name: zipkin\n  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}\n")
	in := startIngressEnv(t, bin, []string{"OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + recv.addr,
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="}, nil, 80)
	c := &http.Client{}
	for range 50 {
		if code, _ := get(t, c, in.url(80)+"/", "shop.example.com"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if be.header("X-B3-Sampled") != "0" || len(be.header("X-B3-Traceid")) != 32 || len(be.header("X-B3-Spanid")) != 16 {
		t.Errorf("upstream B3 %q %q %q, want a new trace not sampled", be.header("X-B3-Traceid"), be.header("X-B3-Spanid"), be.header("X-B3-Sampled"))
	}
	if be.header("Traceparent") != "" {
		t.Errorf("the zipkin provider injected traceparent %q", be.header("Traceparent"))
	}

	// x-client-trace-id forces the trace.
	get(t, c, in.url(80)+"/", "shop.example.com", "X-Client-Trace-Id", "abc")
	forced := be.header("X-B3-Traceid")
	if be.header("X-B3-Sampled") != "1" {
		t.Errorf("x-client-trace-id: X-B3-Sampled %q, want 1", be.header("X-B3-Sampled"))
	}
	s := recv.waitSpan(t, forced)
	if got := hex.EncodeToString(s.SpanId); got != be.header("X-B3-Spanid") {
		t.Errorf("X-B3-SpanId %s is not the gateway's span %s", be.header("X-B3-Spanid"), got)
	}

	// A B3 caller that sampled (single header, 64-bit trace id): its trace
	// continues; B3 wins over a traceparent that came too.
	const b3Trace, b3Span = "463ac35c9f6413ad", "a2fb4a1d1a96d312"
	get(t, c, in.url(80)+"/", "shop.example.com", "B3", b3Trace+"-"+b3Span+"-1",
		"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	s = recv.waitSpan(t, "0000000000000000"+b3Trace)
	if got := hex.EncodeToString(s.ParentSpanId); got != b3Span {
		t.Errorf("parent %s, want the B3 caller's %s", got, b3Span)
	}
	if be.header("X-B3-Traceid") != b3Trace || be.header("X-B3-Parentspanid") != b3Span || be.header("B3") != "" {
		t.Errorf("upstream B3: trace %q parent %q single %q", be.header("X-B3-Traceid"), be.header("X-B3-Parentspanid"), be.header("B3"))
	}

	// An unparsable B3 header: no span, the request served.
	if code, _ := get(t, c, in.url(80)+"/", "shop.example.com", "X-B3-Traceid", "xyz", "X-B3-Spanid", "a2fb4a1d1a96d312", "X-B3-Sampled", "1"); code != 200 {
		t.Errorf("bad B3: status %d", code)
	}
	if n := recv.count(); n != 2 {
		t.Errorf("receiver has %d spans, want 2 (the forced and the B3 caller's)", n)
	}
}

// The default 1% (no randomSamplingPercentage), counted over a bounded
// number of requests: the count is binomial(3000, 0.01), mean 30; the
// bounds are more than four standard deviations away.
func TestTracingDefaultSampling(t *testing.T) {
	recv := startReceiver(t)
	be := startHeaderBackend(t)
	bin := buildTraced(t, tracedShop(t, be.port, `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: otel}]
`), "extensionProviders:\n- name: otel\n  opentelemetry: {service: 127.0.0.1, port: 9}\n")
	env := []string{"OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://" + recv.addr, "OTEL_EXPORTER_OTLP_ENDPOINT="}
	in := startIngressEnv(t, bin, env, nil, 80)
	c := &http.Client{}
	const n = 3000
	sampled := 0
	for range n {
		if code, _ := get(t, c, in.url(80)+"/", "shop.example.com"); code != 200 {
			t.Fatalf("status %d", code)
		}
		if _, _, flags := traceparent(t, be.header("Traceparent")); flags == "01" {
			sampled++
		}
	}
	if sampled < 8 || sampled > 60 {
		t.Errorf("%d of %d requests sampled at 1%%", sampled, n)
	}
	// Every sampled request's span reaches the receiver (the endpoint of
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, not the provider's port 9).
	deadline := time.Now().Add(15 * time.Second)
	for recv.count() < sampled && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := recv.count(); got != sampled {
		t.Errorf("receiver has %d spans, %d requests were sampled", got, sampled)
	}
}

// A bad OTEL_* setting stops the start with a message naming it.
func TestTracingBadEnvironment(t *testing.T) {
	be := startHeaderBackend(t)
	bin := buildTraced(t, tracedShop(t, be.port, `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: otel}]
`), "extensionProviders:\n- name: otel\n  opentelemetry: {service: collector, port: 4317}\n")
	for _, tt := range []struct{ env, want string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL=http/json", `OTEL_EXPORTER_OTLP_PROTOCOL=\"http/json\": want grpc or http/protobuf`},
		{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4317", `OTEL_EXPORTER_OTLP_ENDPOINT=\"collector:4317\": want a URL`},
		{"OTEL_EXPORTER_OTLP_TIMEOUT=10s", `OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\": want a whole number of milliseconds`},
		{"OTEL_EXPORTER_OTLP_HEADERS=novalue", `OTEL_EXPORTER_OTLP_HEADERS: \"novalue\" is not key=value`},
		{"OTEL_BSP_MAX_QUEUE_SIZE=-1", `OTEL_BSP_MAX_QUEUE_SIZE=\"-1\": want a positive whole number`},
	} {
		cmd := exec.Command(bin, "--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--listen", "80=127.0.0.1:0")
		cmd.Env = append(os.Environ(), tt.env)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want 1\n%s", tt.env, err, out)
			continue
		}
		if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), "cannot start") {
			t.Errorf("%s: output does not say %s:\n%s", tt.env, tt.want, out)
		}
	}
}
