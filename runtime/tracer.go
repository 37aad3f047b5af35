package runtime

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tracer starts the gateway's span of each request and carries the trace
// to the upstream, as Envoy's tracing at an Istio gateway. Package
// runtime/tracing implements it (with the OpenTelemetry SDK); generated
// code sets Config.Tracing only when a Telemetry resource enables
// tracing, so an ingress without tracing links none of it and runs no
// tracing code.
type Tracer interface {
	// Start builds the exporter from the OTEL_EXPORTER_OTLP_* environment
	// before the listeners serve; an error (a bad setting) stops the
	// start. workload and namespace name the gateway (--workload,
	// --workload-namespace).
	Start(log *slog.Logger, workload, namespace string) error
	// Begin reads r's trace context, decides sampling, and rewrites r's
	// trace headers so the upstream request carries the gateway's span as
	// its parent. port is the listener's. It returns nil when there is no
	// span: a trace header that is present but cannot be parsed (Envoy
	// makes no span then and forwards the header as it came).
	Begin(r *http.Request, port int) Span
	// Shutdown exports what is queued, bounded by ctx; Run calls it after
	// the drain.
	Shutdown(ctx context.Context) error
}

// Span is one request's span; End records how the request ended.
type Span interface {
	End(SpanEnd)
}

// SpanEnd is what the exchange learnt, for the span's attributes.
type SpanEnd struct {
	// Route is the route's ID, "" when no route matched.
	Route  string
	Status int
	// Flags are Envoy's response flags ("-" for none).
	Flags string
	// Cluster is the upstream cluster's name, "" for none;
	// UpstreamHost the last endpoint tried.
	Cluster, UpstreamHost    string
	BytesReceived, BytesSent int64
}

// TracingStats is implemented by a Tracer that counts its spans;
// /stats/prometheus exports the counts.
type TracingStats interface {
	// Spans returns how many spans were exported and how many were
	// dropped (queue full, or the collector failed or was late).
	Spans() (exported, dropped uint64)
}

var (
	spansExportedDesc = prometheus.NewDesc("gwc_tracing_spans_exported_total",
		"Spans the OTLP exporter delivered to the collector.", nil, nil)
	spansDroppedDesc = prometheus.NewDesc("gwc_tracing_spans_dropped_total",
		"Spans dropped: the export queue was full, or the collector failed or did not answer in time.", nil, nil)
)

type tracingCollector struct{ s TracingStats }

func (c tracingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- spansExportedDesc
	ch <- spansDroppedDesc
}

func (c tracingCollector) Collect(ch chan<- prometheus.Metric) {
	exported, dropped := c.s.Spans()
	ch <- prometheus.MustNewConstMetric(spansExportedDesc, prometheus.CounterValue, float64(exported))
	ch <- prometheus.MustNewConstMetric(spansDroppedDesc, prometheus.CounterValue, float64(dropped))
}

// registerTracingMetrics adds the span counts when cfg's tracer keeps them.
func registerTracingMetrics(reg *prometheus.Registry, cfg *Config) {
	if s, ok := cfg.Tracing.(TracingStats); ok {
		reg.MustRegister(tracingCollector{s})
	}
}

// flushTraces exports the spans still queued when the gateway stops,
// waiting at most a few seconds for a slow collector.
func flushTraces(t Tracer, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("flushing traces", "err", err)
	}
}

// flushTimeout bounds the export of the last spans at exit.
const flushTimeout = 5 * time.Second
