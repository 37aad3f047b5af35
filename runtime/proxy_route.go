package runtime

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route actions at serving time: each destination of each route gets its
// own proxy, so that the route's rewrite, headers and retry policy are at
// hand without a per-request lookup or allocation.

// bodyUpstreamTimeout is Envoy's local reply when the route timeout (or
// the last per-try timeout) expires.
const bodyUpstreamTimeout = "upstream request timeout"

var errUpstreamTimeout = errors.New(bodyUpstreamTimeout)

func init() {
	// The default policy is static and valid.
	_ = defaultRetry.prepare()
}

// routeProxies returns the proxies of rt's destinations (nil for an
// unknown cluster), made on first use. A configuration of 10,000 hosts has
// tens of thousands of routes: making every proxy at start took a third of
// the start-up time and most of the heap. A sync.Map keyed by the route's
// pointer reads without a lock or an allocation; two requests racing on a
// new route may both make proxies, and one set wins.
func (e *engine) routeProxies(rt *Route) []*proxy {
	if ps, ok := e.proxies.Load(rt); ok {
		return ps.([]*proxy)
	}
	ps := make([]*proxy, len(rt.Clusters))
	for di := range rt.Clusters {
		ci := rt.Clusters[di].Cluster
		if ci < 0 || ci >= len(e.ups) {
			continue
		}
		p := newProxy(e.ups[ci], e.transports[ci], e.pool, e.log)
		p.rp.ErrorLog = e.proxyLog
		p.route, p.dest = rt, &rt.Clusters[di]
		p.rp.ModifyResponse = p.modifyResponse
		p.mirror = e.mirror
		ps[di] = p
	}
	got, _ := e.proxies.LoadOrStore(rt, ps)
	return got.([]*proxy)
}

// serveRoute answers r with the route's action.
func (h *listenerHandler) serveRoute(w http.ResponseWriter, r *http.Request, rt *Route, path string) {
	if c := rt.CORS; c != nil {
		if c.preflight(w, r, rt) {
			return
		}
	}
	if f := rt.Fault; f != nil && f.apply(w, r, rt) {
		return
	}
	switch {
	case rt.Redirect != nil:
		loc := rt.Redirect.location(r, path)
		rt.localHeaders(w, r)
		w.Header()["Location"] = []string{loc}
		localReply(w, rt.Redirect.Code, "", false)
		return
	case rt.DirectResponse != nil:
		d := rt.DirectResponse
		hd := w.Header()
		if d.Body != "" {
			hd["Content-Type"] = valTextPlain
		}
		rt.localHeaders(w, r)
		hd["Server"] = valIstioEnvoy
		hd["Content-Length"] = []string{strconv.Itoa(len(d.Body))}
		w.WriteHeader(d.Status)
		if d.Body != "" && r.Method != http.MethodHead {
			_, _ = w.Write([]byte(d.Body))
		}
		return
	}
	di := rt.pickDest()
	proxies := h.e.routeProxies(rt)
	if di < 0 || di >= len(proxies) || proxies[di] == nil {
		// Envoy: cluster not found (NC).
		markFlag(w, flagNC)
		rt.localHeaders(w, r)
		localReply(w, http.StatusServiceUnavailable, "", false)
		return
	}
	noteRoute(w, rt, rt.Clusters[di].Cluster)
	if rt.MaxRequestBytes > 0 && !limitBody(w, r, rt) {
		return
	}
	if d := routeTimeout(rt, r); d > 0 {
		var stop func()
		r, stop = withRouteTimeout(r, d)
		defer stop()
	}
	if d := h.e.streamIdle; d > 0 {
		var stop func()
		w, r, stop = withStreamIdle(w, r, d)
		defer stop()
	}
	proxies[di].serve(w, r)
}

// routeTimeout is the bound on a request's upstream exchange as istiod
// configures Envoy: the route's timeout (0: none); and for a gRPC request
// with a grpc-timeout header the header's value, capped at the route's
// timeout when there is one (istiod sets max_stream_duration with
// grpc_timeout_header_max 0: the header applies without a cap of its own).
func routeTimeout(rt *Route, r *http.Request) time.Duration {
	d := rt.Timeout
	if v := r.Header["Grpc-Timeout"]; len(v) == 1 {
		if g, ok := parseGRPCTimeout(v[0]); ok && (d == 0 || g < d) {
			d = g
		}
	}
	return d
}

// parseGRPCTimeout parses a grpc-timeout value: at most 8 digits and a
// unit (gRPC over HTTP/2: H, M, S, m, u, n).
func parseGRPCTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// withRouteTimeout bounds r's upstream exchange by d, counted as Envoy
// counts a route timeout: from the end of the downstream request, so a
// client's slow upload does not use it up. A request without a body has
// ended already.
func withRouteTimeout(r *http.Request, d time.Duration) (*http.Request, func()) {
	if r.Body == nil || r.Body == http.NoBody {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		return r.WithContext(ctx), cancel
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	b := &timedBody{ReadCloser: r.Body, d: d, cancel: cancel}
	r = r.WithContext(ctx)
	r.Body = b
	return r, func() {
		b.mu.Lock()
		if b.timer != nil {
			b.timer.Stop()
		}
		b.mu.Unlock()
		cancel(nil)
	}
}

// timedBody starts the route timeout when the request body ends.
type timedBody struct {
	io.ReadCloser
	d      time.Duration
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	timer  *time.Timer
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		if b.timer == nil {
			b.timer = time.AfterFunc(b.d, func() { b.cancel(errUpstreamTimeout) })
		}
		b.mu.Unlock()
	}
	return n, err
}

// timedOut reports whether r's route timeout ended it.
func timedOut(r *http.Request, err error) bool {
	ctx := r.Context()
	return errors.Is(err, errUpstreamTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		errors.Is(context.Cause(ctx), errUpstreamTimeout)
}

// bodyTooLarge is Envoy's local reply when a body passes the buffer
// filter's max_request_bytes.
const bodyTooLarge = "Payload Too Large"

// limitBody applies the route's body limit: a declared length over it is
// answered 413 at once, before any upstream is contacted; a body of unknown
// length is cut off where it passes the limit, and the proxy answers 413
// when nothing was sent to the client yet. It reports whether to proxy.
func limitBody(w http.ResponseWriter, r *http.Request, rt *Route) bool {
	if r.ContentLength > rt.MaxRequestBytes {
		rt.localHeaders(w, r)
		localReply(w, http.StatusRequestEntityTooLarge, bodyTooLarge, r.ProtoMajor == 1)
		return false
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, rt.MaxRequestBytes)
	}
	return true
}

// pickDest chooses a destination for one request: at random in proportion
// to the weights (a zero weight gets nothing; one destination gets
// everything, whatever its weight, as in Istio). It returns an index into
// rt.Clusters, or -1 when the route has no destination.
func (rt *Route) pickDest() int {
	n := len(rt.Clusters)
	switch {
	case n == 0:
		return -1
	case n == 1 || len(rt.cumWeights) != n:
		return 0
	}
	total := rt.cumWeights[n-1]
	if total == 0 {
		return -1
	}
	x := rand.Uint32N(total)
	for i, c := range rt.cumWeights {
		if x < c {
			return i
		}
	}
	return -1
}

// applyRequest applies the route's rewrite and the header operations to
// the upstream request, in the order the route says; path is the
// normalised inbound path.
func (p *proxy) applyRequest(in, out *http.Request, path string) {
	rt := p.route
	if rt == nil {
		return
	}
	if rw := rt.Rewrite; rw != nil {
		if np, ok := rw.path(path); ok {
			setTarget(out.URL, np, in.URL)
			out.Header["X-Envoy-Original-Path"] = []string{in.URL.RequestURI()}
		}
	}
	out.Host = rt.UpstreamAuthority(out.Host, p.dest)
	applyBoth(out.Header, &p.dest.RequestHeaders, &rt.RequestHeaders, rt.DestinationHeadersLast)
	if len(rt.Mirrors) > 0 && p.mirror != nil {
		if body, ok := mirrorBody(out); ok {
			p.mirror(rt, out, body)
		}
	}
}

// modifyResponse applies the response header operations, destination
// first, then route; the Server header stays Envoy's.
func (p *proxy) modifyResponse(resp *http.Response) error {
	applyBoth(resp.Header, &p.dest.ResponseHeaders, &p.route.ResponseHeaders, p.route.DestinationHeadersLast)
	if c := p.route.CORS; c != nil && resp.Request != nil {
		c.mark(resp.Header, resp.Request.Header.Get("Origin"))
	}
	resp.Header["Server"] = valIstioEnvoy
	return nil
}

// localReplyHeaders applies the route's response header operations to a
// reply the gateway makes itself, as Envoy does.
func (p *proxy) localReplyHeaders(w http.ResponseWriter, r *http.Request) {
	if p.route != nil {
		p.route.localHeaders(w, r)
	}
}

// localHeaders applies to a reply of the gateway's own what Envoy's
// filters add to every response of the route: the CORS headers and the
// route's response header operations.
func (rt *Route) localHeaders(w http.ResponseWriter, r *http.Request) {
	if rt.CORS != nil {
		rt.CORS.mark(w.Header(), r.Header.Get("Origin"))
	}
	rt.ResponseHeaders.apply(w.Header())
}

// apply performs the operations on h.
// UpstreamAuthority is the authority a request for host carries upstream
// when rt sends it to wc. The route's rewrite wins: istiod sets a lone
// destination's only when the route sets none (route.go,
// processDestination), and Envoy rewrites with the route's after a
// weighted cluster's.
func (rt *Route) UpstreamAuthority(host string, wc *WeightedCluster) string {
	switch {
	case rt.Rewrite != nil && rt.Rewrite.Authority != "":
		return rt.Rewrite.Authority
	case wc != nil && wc.Authority != "":
		return wc.Authority
	}
	return host
}

// applyBoth applies a destination's and its route's operations in the
// order the route says.
func applyBoth(h http.Header, dest, route *HeaderOps, destLast bool) {
	if destLast {
		route.apply(h)
		dest.apply(h)
		return
	}
	dest.apply(h)
	route.apply(h)
}

func (o *HeaderOps) apply(h http.Header) {
	for _, k := range o.removeKeys {
		delete(h, k)
	}
	for i := range o.Set {
		hv := &o.Set[i]
		h[hv.key] = hv.values
	}
	for i := range o.Add {
		hv := &o.Add[i]
		if prior := h[hv.key]; len(prior) > 0 {
			h[hv.key] = append(prior[:len(prior):len(prior)], hv.Value)
		} else {
			h[hv.key] = hv.values
		}
	}
}

// path returns the rewritten path, or false when the rewrite leaves it.
func (rw *Rewrite) path(path string) (string, bool) {
	switch {
	case rw.URI != "" && rw.WholePath:
		return rw.URI, true
	case rw.URI != "":
		n := len(rw.MatchedPrefix)
		if n > len(path) {
			return "", false
		}
		return rw.URI + path[n:], true
	case rw.re != nil:
		return string(rw.re.ReplaceAllString(path, rw.template)), true
	}
	return "", false
}

// location builds the redirect target as Envoy's RedirectAction does.
func (rd *Redirect) location(r *http.Request, path string) string {
	reqScheme := "http"
	if r.TLS != nil {
		reqScheme = "https"
	}
	scheme := reqScheme
	if rd.Scheme != "" {
		scheme = rd.Scheme
	}
	// istiod leaves out a port that is the scheme's default (ApplyRedirect),
	// so Envoy keeps the request's port then, as if no port were given.
	port := ""
	redirectPort := rd.Port
	if scheme == "http" && redirectPort == 80 || scheme == "https" && redirectPort == 443 {
		redirectPort = 0
	}
	if redirectPort != 0 {
		port = ":" + strconv.Itoa(redirectPort)
	}
	host := rd.Authority
	if host == "" {
		host = r.Host
		if h, p, err := net.SplitHostPort(host); err == nil {
			drop := redirectPort != 0 || (scheme != reqScheme && ((reqScheme == "http" && p == "80") || (reqScheme == "https" && p == "443")))
			if drop {
				host = h
				if strings.Contains(h, ":") {
					host = "[" + h + "]"
				}
			}
		}
	}
	query := ""
	if r.URL != nil && (r.URL.RawQuery != "" || r.URL.ForceQuery) {
		query = "?" + r.URL.RawQuery
	}
	target := path + query
	switch {
	case rd.Path != "":
		target = rd.Path
		if !strings.Contains(rd.Path, "?") {
			target += query
		}
	case rd.RewritePrefix:
		if n := len(rd.MatchedPrefix); n <= len(path) {
			target = rd.PrefixRewrite + path[n:] + query
		}
	}
	return scheme + "://" + host + port + target
}
