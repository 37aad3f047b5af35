package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gwc-dev/gwc/runtime/internal/http1"
)

// respFlags are Envoy's response flags (%RESPONSE_FLAGS%): why a request
// did not get an ordinary upstream response.
type respFlags uint16

const (
	flagUH   respFlags = 1 << iota // no healthy upstream
	flagUT                         // upstream request timeout
	flagUF                         // upstream connection failure
	flagUC                         // upstream connection termination
	flagUO                         // upstream overflow (circuit breaker)
	flagNR                         // no route (or virtual host) found
	flagUAEX                       // an external authorisation (plugin) failed
	flagDC                         // downstream connection termination
	flagURX                        // upstream retry limit exceeded
	flagDPE                        // downstream protocol error
	flagNC                         // no cluster found
	flagSI                         // stream idle timeout
	flagRL                         // local rate limited (gwc.io/local-rate-limit)
)

// flagNames are the short names in the order Envoy prints them.
var flagNames = [...]string{"UH", "UT", "UF", "UC", "UO", "NR", "UAEX", "DC", "URX", "DPE", "NC", "SI", "RL"}

// String returns the flags as Envoy logs them: comma-separated, "-" for none.
func (f respFlags) String() string {
	if f == 0 {
		return "-"
	}
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// details returns Envoy's %RESPONSE_CODE_DETAILS% for an exchange that
// ended with these flags; upstream says an upstream response was relayed.
func (f respFlags) details(upstream bool) string {
	switch {
	case f&flagNR != 0:
		return "route_not_found"
	case f&flagNC != 0:
		return "cluster_not_found"
	case f&flagUAEX != 0:
		return "ext_authz_error"
	case f&flagUH != 0:
		return "no_healthy_upstream"
	case f&flagUO != 0:
		return "upstream_reset_before_response_started{overflow}"
	case f&flagUT != 0:
		return "upstream_response_timeout"
	case f&flagDC != 0:
		return "downstream_remote_disconnect"
	case f&flagUF != 0:
		return "upstream_reset_before_response_started{connection_failure}"
	case f&flagUC != 0:
		return "upstream_reset_before_response_started{connection_termination}"
	case f&flagDPE != 0:
		return "http1.codec_error"
	case f&flagSI != 0:
		return "stream_idle_timeout"
	case f&flagRL != 0:
		return "local_rate_limited"
	case upstream:
		return "via_upstream"
	}
	return "-"
}

// exchange is the per-request state observability needs: it wraps the
// listener's ResponseWriter to see the status and the bytes sent, counts the
// request body, and carries what routing and the proxy learnt (cluster,
// upstream host, response flags). The code that produces a local reply
// marks its flag with markFlag.
type exchange struct {
	w           http.ResponseWriter
	start       time.Time
	status      int
	wroteHeader bool
	// upstream says the response came from an upstream.
	upstream  bool
	bytesSent int64
	flags     respFlags
	// cluster indexes Config.Clusters; -1 until a route picked one.
	cluster int
	route   *Route
	// upstreamHost is the last endpoint tried ("" if none).
	upstreamHost string
	// details overrides the response code details the flags give, for
	// local replies with no flag of their own (Envoy's upgrade_failed).
	details string
	body    countingBody
}

// responseDetails is %RESPONSE_CODE_DETAILS% for x.
func (x *exchange) responseDetails() string {
	if x.details != "" {
		return x.details
	}
	return x.flags.details(x.upstream)
}

// noteDetails records the response code details of a local reply.
func noteDetails(w http.ResponseWriter, d string) {
	if x := exchangeOf(w); x != nil {
		x.details = d
	}
}

// exchangeKey is the context key under which the exchange travels when
// something beyond the ResponseWriter needs it (the proxy's RoundTrip).
type exchangeKey struct{}

func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(code int) {
	if !x.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		x.status, x.wroteHeader = code, true
	}
	x.w.WriteHeader(code)
}

func (x *exchange) Write(p []byte) (int, error) {
	if !x.wroteHeader {
		x.status, x.wroteHeader = http.StatusOK, true
	}
	n, err := x.w.Write(p)
	x.bytesSent += int64(n)
	return n, err
}

// Flush keeps streaming working through the wrapper; Unwrap lets
// http.ResponseController reach the connection (hijack for upgrades,
// deadlines).
func (x *exchange) Flush() {
	if f, ok := x.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (x *exchange) Unwrap() http.ResponseWriter { return x.w }

// Hijack hands the connection to an upgrade (WebSocket): the proxy writes
// the 101 itself on the raw connection, so the exchange records it here.
func (x *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(x.w).Hijack()
	if err == nil && !x.wroteHeader {
		x.status, x.wroteHeader = http.StatusSwitchingProtocols, true
	}
	return c, brw, err
}

// countingBody counts the request body bytes read; the transport may read
// it from its own goroutine, hence the atomic.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// exchangeOf finds the exchange behind w, through any wrappers that
// implement Unwrap; nil when observability is off.
func exchangeOf(w http.ResponseWriter) *exchange {
	for range 8 {
		switch v := w.(type) {
		case *exchange:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// markFlag records a response flag on the request served through w. Code
// producing a local reply calls it (or markTimeout, markOverflow) before
// writing the reply.
func markFlag(w http.ResponseWriter, f respFlags) {
	if x := exchangeOf(w); x != nil {
		x.flags |= f
	}
}

// markTimeout records that the upstream did not answer in time (UT); the
// route timeout's local reply (504) calls it.
func markTimeout(w http.ResponseWriter) { markFlag(w, flagUT) }

// markOverflow records that a circuit breaker refused the request (UO); the
// breaker's local reply (503) calls it.
func markOverflow(w http.ResponseWriter) { markFlag(w, flagUO) }

// noteRoute records the route and cluster chosen for the request.
func noteRoute(w http.ResponseWriter, rt *Route, cluster int) {
	if x := exchangeOf(w); x != nil {
		x.route, x.cluster = rt, cluster
	}
}

// noteUpstream records the endpoint a request is being sent to. It finds
// the exchange through ctx, which carries it only while access logging or
// tracing is on (the consumers of the upstream host).
func noteUpstream(ctx context.Context, addr string) {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		x.upstreamHost = addr
	}
}

// refusedBody returns the status the HTTP/1.1 engine refused a request
// body with, or 0.
func refusedBody(err error) int {
	status, _, _ := http1.Refusal(err)
	return status
}

// failFlags returns the response flags for a request the proxy could not
// complete with err; r is the request as sent upstream, whose attempt count
// tells whether retries ran out.
func failFlags(r *http.Request, err error) respFlags {
	var de *downstreamError
	var ce *connectError
	switch {
	case streamIdled(r):
		return flagSI
	case timedOut(r, err):
		return flagUT // the route's timeout or the per-try timeout
	case errors.As(err, new(*http.MaxBytesError)):
		return 0 // the body limit's local reply, which Envoy flags with nothing
	case errors.As(err, &de) && refusedBody(de.err) == http.StatusBadRequest:
		return flagDPE // the engine refused the body's framing
	case errors.As(err, &de) && refusedBody(de.err) != 0:
		return 0 // the request timeout: Envoy flags it with nothing
	case r.Context().Err() != nil || errors.As(err, &de):
		return flagDC
	case errors.Is(err, errOverloaded):
		return flagUO
	case errors.Is(err, errNoHealthyUpstream):
		return flagUH
	case errors.Is(err, errClusterNotFound):
		return flagNC
	case errors.As(err, &ce):
		if v := r.Header["X-Envoy-Attempt-Count"]; len(v) > 0 && v[0] != "1" {
			return flagUF | flagURX // more than one try, all failed
		}
		return flagUF
	}
	return flagUC
}
