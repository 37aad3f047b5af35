package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// The tracing scenario runs gwc three times over: without a Telemetry
// (tracing off: the binary links no tracing code), and with a Telemetry
// sampling 1% and 100%, its spans exported by OTLP/gRPC to a sink in the
// driver (on the load side, so its CPU is not the target's).

// traceTargets are the traced gwc targets and their sampling percentages.
var traceTargets = map[string]string{"gwc-trace1": "1", "gwc-trace100": "100"}

// startBase builds dir's Istio resources with the -gwc-base gwc and starts
// the binary on port.
func startBase(o runOptions, dir string, port int) (*proc, error) {
	bin := filepath.Join(dir, "ingress-base")
	if out, err := exec.Command(o.GWCBase, "build", "-o", bin, filepath.Join(dir, "istio")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gwc-base build: %v\n%s", err, out)
	}
	return start("gwc-base", dir, o.ProxyCPUs, []string{"GOMAXPROCS=1"}, bin, fmt.Sprintf("--listen=80=127.0.0.1:%d", port),
		"--status-addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0")
}

// otlpSink is the collector's OTLP trace service, counting what it gets.
type otlpSink struct {
	coltracepb.UnimplementedTraceServiceServer
	spans atomic.Int64
}

func (s *otlpSink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans.Add(int64(len(ss.Spans)))
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// startSink serves the sink on addr until the driver exits.
func startSink(addr string) (*otlpSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("OTLP sink: %w", err)
	}
	s := &otlpSink{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, s)
	go srv.Serve(ln)
	return s, nil
}

// startTraced builds and starts the traced gwc target t of dir's Istio
// resources on port.
func startTraced(o runOptions, dir, t string, port int) (*proc, error) {
	tdir := filepath.Join(dir, t)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return nil, err
	}
	telemetry := fmt.Sprintf(`apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: tracing
  namespace: istio-system
spec:
  tracing:
  - providers:
    - name: otel
    randomSamplingPercentage: %s
`, traceTargets[t])
	mesh := "extensionProviders:\n- name: otel\n  opentelemetry:\n    service: 127.0.0.1\n    port: " + fmt.Sprint(o.Ports.OTLP) + "\n"
	for name, data := range map[string]string{"telemetry.yaml": telemetry, "mesh.yaml": mesh} {
		if err := os.WriteFile(filepath.Join(tdir, name), []byte(data), 0o644); err != nil {
			return nil, err
		}
	}
	bin := filepath.Join(tdir, "ingress")
	if out, err := exec.Command(o.GWC, "build", "-o", bin, "--mesh-config", filepath.Join(tdir, "mesh.yaml"),
		filepath.Join(dir, "istio"), filepath.Join(tdir, "telemetry.yaml")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gwc build for %s: %v\n%s", t, err, out)
	}
	return start(t, dir, o.ProxyCPUs, []string{"GOMAXPROCS=1"}, bin, fmt.Sprintf("--listen=80=127.0.0.1:%d", port),
		"--status-addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0")
}
