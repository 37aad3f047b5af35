package runtime

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// observer instruments the listeners: metrics always, the access log when
// asked for. Each listener's handler is wrapped once (wrap); everything
// per request goes through one exchange and one observe call.
type observer struct {
	metrics *metrics
	access  *accessLog // nil when off
	tracer  Tracer     // nil without tracing
	// clusters are the cluster names, by index, for spans.
	clusters []string
}

// newObserver prepares metrics for cfg and opens the access log if o asks
// for one.
func newObserver(cfg *Config, o *obsOptions, log *slog.Logger) (*observer, error) {
	ob := &observer{metrics: newMetrics(cfg, o.workload, o.namespace), tracer: cfg.Tracing}
	if ob.tracer != nil {
		for _, c := range cfg.Clusters {
			ob.clusters = append(ob.clusters, c.Name)
		}
	}
	if o.accessLog != "" {
		a, err := openAccessLog(o.accessLog, o.accessLogFormat == "json", ob.metrics.logDrops, log)
		if err != nil {
			return nil, err
		}
		for _, c := range cfg.Clusters {
			a.clusters = append(a.clusters, c.Name)
		}
		ob.access = a
	}
	return ob, nil
}

// attach lets the metrics report the engine's clusters.
func (ob *observer) attach(e *engine) {
	if ob != nil {
		ob.metrics.ups.Store(&e.ups)
	}
}

// close flushes the access log.
func (ob *observer) close() {
	if ob != nil && ob.access != nil {
		ob.access.close()
	}
}

// wrap returns h instrumented; local is the listener's bound address, for
// %DOWNSTREAM_LOCAL_ADDRESS%.
func (ob *observer) wrap(h http.Handler, local string) http.Handler {
	if ob == nil {
		return h
	}
	o := &observed{h: h, ob: ob, local: local}
	if lh, ok := h.(*listenerHandler); ok {
		o.port = lh.l.Port
	}
	return o
}

type observed struct {
	h     http.Handler
	ob    *observer
	local string
	port  int // the Gateway port, for span names
}

// exchangePool recycles the exchanges of requests without a body: nothing
// holds one after its request is recorded. (A body may still be read by a
// transport's goroutine after the handler returned, through x.body.)
var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func (o *observed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchangePool.Get().(*exchange)
	x.w, x.start, x.cluster = w, time.Now(), -1
	if r.Body != nil && r.Body != http.NoBody {
		x.body.rc = r.Body
		r.Body = &x.body
	}
	if o.ob.access != nil || o.ob.tracer != nil {
		// The log and the span show the request id the upstream sees; the
		// proxy keeps one that is already there.
		if _, ok := r.Header["X-Request-Id"]; !ok {
			r.Header["X-Request-Id"] = []string{newRequestID()}
		}
		r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	}
	var sp Span
	if o.ob.tracer != nil {
		sp = o.ob.tracer.Begin(r, o.port)
	}
	defer o.finish(x, r, sp)
	o.h.ServeHTTP(x, r)
}

// rejected records a request the HTTP/1.1 engine refused before any
// handler saw it (Envoy's codec errors): counted and logged with response
// flag DPE and the engine's reason, as Envoy logs http1.codec_error.
func (ob *observer) rejected(c net.Conn, status int, details, local string) {
	if ob == nil {
		return
	}
	x := &exchange{w: noWriter{}, status: status, wroteHeader: true, flags: flagDPE, cluster: -1, start: time.Now(),
		bytesSent: int64(len(http.StatusText(status)))}
	if status == http.StatusRequestTimeout {
		// A timeout, not a protocol error: Envoy sets no flag, only details.
		x.flags, x.details = 0, details
	}
	r := &http.Request{Method: "-", URL: &url.URL{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, RemoteAddr: c.RemoteAddr().String()}
	ob.metrics.observe(x, r, 0)
	if ob.access != nil {
		ob.access.record(x, r, 0, local)
	}
}

// noWriter stands for the writer of a request refused before any
// handler ran: the engine wrote the reply; there are no headers to log.
type noWriter struct{}

func (noWriter) Header() http.Header         { return nil }
func (noWriter) Write(p []byte) (int, error) { return len(p), nil }
func (noWriter) WriteHeader(int)             {}

// finish records the exchange. It runs deferred so a request whose handler
// aborted (http.ErrAbortHandler when the client went away mid-stream) is
// still counted.
func (o *observed) finish(x *exchange, r *http.Request, sp Span) {
	d := time.Since(x.start)
	if !x.wroteHeader {
		// Nothing reached the client: Envoy logs response code 0.
		x.status = 0
		if r.Context().Err() != nil {
			x.flags |= flagDC
		}
	} else if x.flags == 0 && x.cluster >= 0 {
		x.upstream = true
	}
	o.ob.metrics.observe(x, r, float64(d.Microseconds())/1000)
	if o.ob.access != nil {
		o.ob.access.record(x, r, d, o.local)
	}
	if sp != nil {
		o.ob.endSpan(sp, x)
	}
	if x.body.rc == nil {
		x.reset()
		exchangePool.Put(x)
	}
}

// endSpan ends sp with what the exchange learnt.
func (ob *observer) endSpan(sp Span, x *exchange) {
	e := SpanEnd{Status: x.status, Flags: x.flags.String(), UpstreamHost: x.upstreamHost,
		BytesReceived: x.body.n.Load(), BytesSent: x.bytesSent}
	if x.route != nil {
		e.Route = x.route.ID
	}
	if x.cluster >= 0 && x.cluster < len(ob.clusters) {
		e.Cluster = ob.clusters[x.cluster]
	}
	sp.End(e)
}

// reset clears x for its next request.
func (x *exchange) reset() {
	x.w, x.start, x.status, x.wroteHeader, x.upstream = nil, time.Time{}, 0, false, false
	x.bytesSent, x.flags, x.cluster, x.route, x.upstreamHost, x.details = 0, 0, -1, nil, "", ""
	x.body.n.Store(0)
}

// tcpMetrics is what TCP listeners count istio_tcp_* in; nil without an
// observer.
func (ob *observer) tcpMetrics() *metrics {
	if ob == nil {
		return nil
	}
	return ob.metrics
}
