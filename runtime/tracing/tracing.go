package tracing

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	gwcrt "github.com/gwc-dev/gwc/runtime"
)

// Spec is the compiled tracing configuration (the IR's Tracing); codegen
// writes it as the argument of New.
type Spec struct {
	// Provider names the mesh config's extension provider; Kind is its
	// kind, "opentelemetry" (W3C trace context) or "zipkin" (B3).
	Provider, Kind string
	// Endpoint is the provider's "service:port", the exporter's default;
	// "" for none. HTTPPath, when set, exports by OTLP/HTTP to that path.
	Endpoint, HTTPPath string
	// SamplingPercent is randomSamplingPercentage.
	SamplingPercent float64
	// DisableSpanReporting: sample and propagate, export nothing.
	DisableSpanReporting bool
	Tags                 []Tag
	// Operations are the span names, sorted by Port, then Route.
	Operations []Operation
}

// Tag is a Telemetry customTags entry. Kind is "literal", "header" or
// "environment"; Value is the literal, the lower-case header name or the
// variable; Default is used when the header or variable is absent ("":
// no tag).
type Tag struct {
	Name, Kind, Value, Default string
}

// Operation names the span of the requests a route serves on a port.
type Operation struct {
	Port  int
	Route string
	Name  string
}

// noRouteOperation names the span of a request no route took.
const noRouteOperation = "ingress"

// Tracer implements gwcrt.Tracer.
type Tracer struct {
	spec   Spec
	names  map[opKey]string
	tracer trace.Tracer
	tp     *sdktrace.TracerProvider
	q      *queue // nil when span reporting is disabled
	// static are the attributes every span has: the gateway's identity
	// and the literal and environment tags.
	static  []attribute.KeyValue
	headers []Tag
	log     *slog.Logger
	errOnce sync.Once
}

type opKey struct {
	port  int
	route string
}

var (
	_ gwcrt.Tracer       = (*Tracer)(nil)
	_ gwcrt.TracingStats = (*Tracer)(nil)
)

// New returns the tracer of spec, not started.
func New(spec Spec) *Tracer {
	return &Tracer{spec: spec}
}

// Spec returns the configuration New was given.
func (t *Tracer) Spec() Spec { return t.spec }

// Start builds the exporter and the tracer provider.
func (t *Tracer) Start(log *slog.Logger, workload, namespace string) error {
	t.log = log
	t.names = make(map[opKey]string, len(t.spec.Operations))
	for _, o := range t.spec.Operations {
		t.names[opKey{o.Port, o.Route}] = o.Name
	}
	host, _ := os.Hostname()
	t.static = []attribute.KeyValue{
		attribute.String("component", "proxy"),
		attribute.String("node_id", host),
		attribute.String("downstream_cluster", "-"),
		attribute.String("istio.canonical_service", workload),
		attribute.String("istio.canonical_revision", "latest"),
		attribute.String("istio.namespace", namespace),
	}
	for _, tag := range t.spec.Tags {
		switch tag.Kind {
		case "literal":
			t.static = append(t.static, attribute.String(tag.Name, tag.Value))
		case "environment":
			if v, ok := os.LookupEnv(tag.Value); ok {
				t.static = append(t.static, attribute.String(tag.Name, v))
			} else if tag.Default != "" {
				t.static = append(t.static, attribute.String(tag.Name, tag.Default))
			}
		case "header":
			t.headers = append(t.headers, tag)
		}
	}
	opts := []sdktrace.TracerProviderOption{
		// Begin decides; the SDK sees only the spans to record.
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		// Istio's OpenTelemetry tracer names the service
		// "<canonical service>.<namespace>".
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", workload+"."+namespace))),
	}
	what := "spans are not reported (disableSpanReporting)"
	if !t.spec.DisableSpanReporting {
		exp, where, err := newExporter(context.Background(), &t.spec)
		if err != nil {
			return err
		}
		q, err := newQueue(exp, t.exportFailed)
		if err != nil {
			return err
		}
		t.q = q
		opts = append(opts, sdktrace.WithSpanProcessor(q))
		what = "spans exported by OTLP " + where
	}
	t.tp = sdktrace.NewTracerProvider(opts...)
	t.tracer = t.tp.Tracer("gwc")
	log.Info("tracing", "provider", t.spec.Provider, "kind", t.spec.Kind, "sampling", t.spec.SamplingPercent, "export", what)
	return nil
}

// exportFailed logs the first failed export; the rest only count.
func (t *Tracer) exportFailed(err error) {
	t.errOnce.Do(func() {
		t.log.Warn("exporting spans failed; the spans are dropped (gwc_tracing_spans_dropped_total), later failures are not logged", "err", err)
	})
}

// Shutdown exports the queued spans.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t.tp == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Spans returns the export counts.
func (t *Tracer) Spans() (exported, dropped uint64) {
	if t.q == nil {
		return 0, 0
	}
	return t.q.exported.Load(), t.q.dropped.Load()
}

// Begin starts r's span and writes the provider's trace headers.
func (t *Tracer) Begin(r *http.Request, port int) gwcrt.Span {
	h := r.Header
	zipkin := t.spec.Kind == "zipkin"
	in := extract(h, zipkin)
	if in.bad {
		return nil
	}
	// The caller's decision is kept (W3C's flag, B3's X-B3-Sampled);
	// without one, a client's x-client-trace-id forces the trace (Istio
	// sets client_sampling to 100%), else randomSamplingPercentage.
	sample := in.sample
	if !in.decided {
		_, client := h["X-Client-Trace-Id"]
		sample = client || rand.Float64()*100 < t.spec.SamplingPercent
	}
	if !sample {
		// Not sampled: the SDK is not involved. The trace goes on with a
		// span id of the gateway's (and a new trace id without a
		// caller), its flag unset, so the services behind do not sample.
		cfg := trace.SpanContextConfig{TraceID: in.parent.TraceID(), SpanID: newSpanID(), TraceState: in.parent.TraceState()}
		if !cfg.TraceID.IsValid() {
			cfg.TraceID = newTraceID()
		}
		t.inject(h, trace.NewSpanContext(cfg), in.parent.SpanID())
		return nil
	}
	ctx := context.Background()
	if in.parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, in.parent)
	}
	_, sp := t.tracer.Start(ctx, noRouteOperation, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(t.requestAttributes(r)...))
	t.inject(h, sp.SpanContext(), in.parent.SpanID())
	return &span{sp: sp, t: t, port: port}
}

// requestAttributes are the tags Envoy sets from the request, with the
// gateway's own and the custom tags.
func (t *Tracer) requestAttributes(r *http.Request) []attribute.KeyValue {
	h := r.Header
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := make([]attribute.KeyValue, 0, len(t.static)+len(t.headers)+6)
	attrs = append(attrs, t.static...)
	attrs = append(attrs,
		attribute.String("http.method", r.Method),
		attribute.String("http.url", scheme+"://"+r.Host+r.URL.RequestURI()),
		attribute.String("http.protocol", r.Proto),
		attribute.String("user_agent", r.UserAgent()),
		attribute.String("guid:x-request-id", h.Get("X-Request-Id")),
	)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, attribute.String("peer.address", host))
	}
	for _, tag := range t.headers {
		if v := h.Get(tag.Value); v != "" {
			attrs = append(attrs, attribute.String(tag.Name, v))
		} else if tag.Default != "" {
			attrs = append(attrs, attribute.String(tag.Name, tag.Default))
		}
	}
	return attrs
}

// inject writes the provider's headers for sc, the upstream's parent.
func (t *Tracer) inject(h http.Header, sc trace.SpanContext, parent trace.SpanID) {
	if t.spec.Kind == "zipkin" {
		injectB3(h, sc, parent)
	} else {
		injectW3C(h, sc)
	}
}

// newTraceID and newSpanID make random non-zero ids, as Envoy does, from
// the runtime's fast per-thread generator (ids need to be unique, not
// secret).
func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

type span struct {
	sp   trace.Span
	t    *Tracer
	port int
}

// End sets the span's name from its route (istiod's route decorator) and
// what the exchange learnt, as Envoy's tags, and ends it.
func (s *span) End(e gwcrt.SpanEnd) {
	if name, ok := s.t.names[opKey{s.port, e.Route}]; ok {
		s.sp.SetName(name)
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.status_code", strconv.Itoa(e.Status)),
		attribute.String("response_flags", e.Flags),
		attribute.Int64("request_size", e.BytesReceived),
		attribute.Int64("response_size", e.BytesSent),
	}
	if e.Cluster != "" {
		attrs = append(attrs, attribute.String("upstream_cluster", e.Cluster), attribute.String("upstream_cluster.name", e.Cluster))
	}
	if e.UpstreamHost != "" {
		attrs = append(attrs, attribute.String("upstream_address", e.UpstreamHost))
	}
	if e.Status >= 500 || e.Status == 0 {
		// Envoy tags a 5xx (or no response at all) error=true.
		attrs = append(attrs, attribute.String("error", "true"))
		s.sp.SetStatus(codes.Error, "")
	}
	s.sp.SetAttributes(attrs...)
	s.sp.End()
}
