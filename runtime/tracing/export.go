package tracing

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// env reads the first of the variables that is set and not empty: the
// signal-specific OTEL_EXPORTER_OTLP_TRACES_* wins over OTEL_EXPORTER_OTLP_*,
// as the OpenTelemetry specification orders them.
func env(names ...string) (name, value string) {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return n, v
		}
	}
	return "", ""
}

// newExporter builds the OTLP exporter. The protocol is
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, else the provider's (http when
// the opentelemetry provider sets http, gRPC otherwise). The endpoint is
// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT when set: the run-time setting wins
// over the provider's service and port, which are the default (plain
// text, as Istio's sidecars reach an in-mesh collector). Headers,
// timeout, compression, certificates and insecure are the exporters' own
// reading of the standard variables; the values are checked here so a bad
// one stops the start with its name instead of being logged and ignored.
func newExporter(ctx context.Context, s *Spec) (sdktrace.SpanExporter, string, error) {
	if err := checkEnv(); err != nil {
		return nil, "", err
	}
	protocol := "grpc"
	if s.HTTPPath != "" {
		protocol = "http/protobuf"
	}
	if n, v := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); v != "" {
		switch v {
		case "grpc", "http/protobuf":
			protocol = v
		default:
			return nil, "", fmt.Errorf("%s=%q: want grpc or http/protobuf (http/json is not supported)", n, v)
		}
	}
	n, endpoint := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	where := endpoint + " (" + n + ")"
	if endpoint == "" {
		where = "the SDK's default endpoint (no OTEL_EXPORTER_OTLP_ENDPOINT and no provider endpoint)"
		if s.Endpoint != "" {
			where = "provider " + s.Provider + " at " + s.Endpoint
		}
	}
	// A collector that is down costs the spans of the failed export (they
	// are counted as dropped), not a minute of retries holding the queue.
	var (
		exp *otlptrace.Exporter
		err error
	)
	if protocol == "grpc" {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false})}
		if endpoint == "" && s.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(s.Endpoint), otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	} else {
		opts := []otlptracehttp.Option{otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false})}
		if endpoint == "" && s.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpoint(s.Endpoint), otlptracehttp.WithInsecure())
			if s.HTTPPath != "" {
				opts = append(opts, otlptracehttp.WithURLPath(s.HTTPPath))
			}
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP exporter: %w", err)
	}
	return exp, protocol + " to " + where, nil
}

// checkEnv checks the OTEL_* variables the exporters and the queue read.
func checkEnv() error {
	for _, n := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if _, v := env(n); v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%s=%q: want a URL such as http://collector:4317 (scheme http or https, and a host)", n, v)
			}
		}
	}
	for _, n := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if _, v := env(n); v != "" {
			for _, kv := range strings.Split(v, ",") {
				k, val, ok := strings.Cut(kv, "=")
				_, err1 := url.PathUnescape(strings.TrimSpace(k))
				_, err2 := url.PathUnescape(strings.TrimSpace(val))
				if !ok || strings.TrimSpace(k) == "" || err1 != nil || err2 != nil {
					return fmt.Errorf("%s: %q is not key=value (W3C baggage form, values percent-encoded)", n, kv)
				}
			}
		}
	}
	for _, n := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"} {
		if _, err := envMillis(n, 0); err != nil {
			return err
		}
	}
	for _, n := range []string{"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"} {
		if _, v := env(n); v != "" && v != "gzip" && v != "none" {
			return fmt.Errorf("%s=%q: want gzip or none", n, v)
		}
	}
	for _, n := range []string{"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE"} {
		if _, v := env(n); v != "" && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Errorf("%s=%q: want true or false", n, v)
		}
	}
	return nil
}

// envMillis reads a whole number of milliseconds; def when unset.
func envMillis(name string, def time.Duration) (time.Duration, error) {
	_, v := env(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number of milliseconds", name, v)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// envInt reads a positive integer; def when unset.
func envInt(name string, def int) (int, error) {
	_, v := env(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive whole number", name, v)
	}
	return n, nil
}

// queue is the batch span processor: ended spans wait in a bounded queue
// and one goroutine exports them in batches. A span that finds the queue
// full is dropped and counted, so a request never waits for the
// collector; so are the spans of an export that failed. (The SDK's batch
// processor does the same but does not say how many it dropped.) Its
// settings are the standard OTEL_BSP_* variables with their defaults.
type queue struct {
	exp       sdktrace.SpanExporter
	spans     chan sdktrace.ReadOnlySpan
	batch     int
	delay     time.Duration
	timeout   time.Duration
	flush     chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	stopOnce  sync.Once
	stopped   atomic.Bool
	exported  atomic.Uint64
	dropped   atomic.Uint64
	exportErr func(error)
}

func newQueue(exp sdktrace.SpanExporter, onErr func(error)) (*queue, error) {
	size, err := envInt("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
	if err != nil {
		return nil, err
	}
	batch, err := envInt("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
	if err != nil {
		return nil, err
	}
	delay, err := envMillis("OTEL_BSP_SCHEDULE_DELAY", 5*time.Second)
	if err != nil {
		return nil, err
	}
	timeout, err := envMillis("OTEL_BSP_EXPORT_TIMEOUT", 30*time.Second)
	if err != nil {
		return nil, err
	}
	if delay <= 0 {
		delay = time.Millisecond
	}
	q := &queue{exp: exp, spans: make(chan sdktrace.ReadOnlySpan, size), batch: min(batch, size), delay: delay,
		timeout: timeout, flush: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), exportErr: onErr}
	go q.run()
	return q, nil
}

func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if q.stopped.Load() {
		q.dropped.Add(1)
		return
	}
	select {
	case q.spans <- s:
	default:
		q.dropped.Add(1)
	}
}

func (q *queue) run() {
	defer close(q.done)
	t := time.NewTicker(q.delay)
	defer t.Stop()
	buf := make([]sdktrace.ReadOnlySpan, 0, q.batch)
	send := func() {
		if len(buf) > 0 {
			q.export(buf)
			clear(buf)
			buf = buf[:0]
		}
	}
	drain := func() {
		for {
			select {
			case s := <-q.spans:
				if buf = append(buf, s); len(buf) == q.batch {
					send()
				}
			default:
				send()
				return
			}
		}
	}
	for {
		select {
		case s := <-q.spans:
			if buf = append(buf, s); len(buf) == q.batch {
				send()
			}
		case <-t.C:
			send()
		case ack := <-q.flush:
			drain()
			close(ack)
		case <-q.stop:
			drain()
			return
		}
	}
}

func (q *queue) export(spans []sdktrace.ReadOnlySpan) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	if err := q.exp.ExportSpans(ctx, spans); err != nil {
		q.dropped.Add(uint64(len(spans)))
		if q.exportErr != nil {
			q.exportErr(err)
		}
		return
	}
	q.exported.Add(uint64(len(spans)))
}

func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown exports what is queued and stops; spans ended later are
// dropped.
func (q *queue) Shutdown(ctx context.Context) error {
	q.stopOnce.Do(func() {
		q.stopped.Store(true)
		close(q.stop)
	})
	select {
	case <-q.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return q.exp.Shutdown(ctx)
}
