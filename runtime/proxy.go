package runtime

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwc-dev/gwc/runtime/internal/http1"
	"github.com/gwc-dev/gwc/runtime/internal/pathnorm"
)

// Upstream behaviour of Istio's defaults: connect timeout 10s, no response
// timeout, 2 retries on connect failure (to another endpoint when there is
// one) with Envoy's jittered back-off from 25ms, at most ten times that.
const (
	connectTimeout = 10 * time.Second
	maxRetries     = 2
	retryBase      = 25 * time.Millisecond
)

// Bodies of Envoy's local replies.
const (
	bodyNoHealthyUpstream = "no healthy upstream"
	bodyConnectFailure    = "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
	bodyConnectTimeout    = "upstream connect error or disconnect/reset before headers. reset reason: connection timeout"
	bodyConnTermination   = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
)

// Header values shared by every request; net/http only reads them, and an
// append to a one-element slice allocates a new array.
var (
	valIstioEnvoy = []string{"istio-envoy"}
	valHTTP       = []string{"http"}
	valHTTPS      = []string{"https"}
	valTextPlain  = []string{"text/plain"}
	valClose      = []string{"close"}
	valTrue       = []string{"true"}
	valEmpty      = []string{""}
	valAttempts   = [maxRetries + 1][]string{{"1"}, {"2"}, {"3"}}
)

var errNoHealthyUpstream = errors.New(bodyNoHealthyUpstream)

// connectError marks a failure to open the upstream connection: the
// request was not sent, so it may be retried elsewhere.
type connectError struct{ err error }

func (e *connectError) Error() string { return "connecting to upstream: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// downstreamError marks a failure to read the client's request body, which
// Envoy answers with 400.
type downstreamError struct{ err error }

func (e *downstreamError) Error() string { return "reading request body: " + e.err.Error() }
func (e *downstreamError) Unwrap() error { return e.err }

// newTransport returns the one upstream transport every cluster shares: a
// large keep-alive pool, no proxy from the environment, compression left to
// the client and the upstream.
func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: connectTimeout}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &connectError{err}
			}
			return c, nil
		},
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     time.Hour,
		DisableCompression:  true,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
}

// bufferPool recycles the proxy's copy buffers. A channel, unlike a
// sync.Pool, holds a []byte without boxing it, so Get and Put allocate
// nothing.
type bufferPool chan []byte

func (p bufferPool) Get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p bufferPool) Put(b []byte) {
	select {
	case p <- b:
	default:
	}
}

// proxy forwards requests to one cluster.
type proxy struct {
	up        *upstream
	transport http.RoundTripper
	log       *slog.Logger
	rp        httputil.ReverseProxy
	// route and dest, when set, are the route and destination this proxy
	// serves: their rewrite, headers and retry policy apply.
	route *Route
	dest  *WeightedCluster
	// mirror sends copies of a request to the route's mirrors.
	mirror func(rt *Route, out *http.Request, body []byte)
	// fwd is transport when it is the forwarder: bodiless requests then
	// take the lean path (proxy_lean.go) instead of ReverseProxy. On a
	// discovered cluster it is transport's HTTP/1.1 side, taken while
	// http2 is false.
	fwd   *forwarder
	http2 *atomic.Bool
	pool  bufferPool
}

func newProxy(up *upstream, transport http.RoundTripper, pool bufferPool, log *slog.Logger) *proxy {
	p := &proxy{up: up, transport: transport, log: log, pool: pool}
	h1 := transport
	if s, ok := transport.(*protocolSwitch); ok {
		h1, p.http2 = s.h1, s.http2
	}
	if f, ok := h1.(*forwarder); ok && !up.tls {
		p.fwd = f
	}
	p.rp = httputil.ReverseProxy{
		Rewrite:   p.rewrite,
		Transport: p,
		// No interval: flushWriter flushes each write itself (see flush.go);
		// ReverseProxy still flushes streams of unknown length at once.
		FlushInterval: 0,
		BufferPool:    pool,
		ErrorHandler:  p.fail,
	}
	return p
}

// serve forwards r.
func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	if p.fwd != nil && leanable(r) && (p.http2 == nil || !p.http2.Load()) {
		p.serveLean(w, r)
		return
	}
	p.rp.ServeHTTP(flushWriter{w}, r)
}

// rewrite sets the upstream request: the normalised path and the raw query
// as sent, the Host as the client sent it, and the headers Istio's gateway
// sets.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	p.rewriteRequest(pr.In, pr.Out, make([]string, 2))
}

// rewriteRequest is rewrite on the inbound and outbound requests, for
// both paths (see proxy_lean.go); vals, two long, backs the values it sets.
func (p *proxy) rewriteRequest(in, out *http.Request, vals []string) {
	out.URL.Scheme = "http"
	path, _ := pathnorm.Normalize(requestPath(in))
	setTarget(out.URL, path, in.URL)
	out.Host = in.Host

	// The values set below share one array; each slice is capped at its
	// one element, so an append elsewhere copies instead of overwriting.
	// use_remote_address: append the peer's address (the connection's,
	// not a client address read from X-Forwarded-For), joined with "," as
	// Envoy joins header values (no space).
	if ip := peerIP(in); ip != "" {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			vals[0] = strings.Join(prior, ",") + "," + ip
		} else {
			vals[0] = ip
		}
		out.Header["X-Forwarded-For"] = vals[0:1:1]
	}
	if in.TLS != nil {
		out.Header["X-Forwarded-Proto"] = valHTTPS
	} else {
		out.Header["X-Forwarded-Proto"] = valHTTP
	}
	if in.Header.Get("X-Request-Id") == "" {
		vals[1] = newRequestID()
		out.Header["X-Request-Id"] = vals[1:2:2]
	}
	p.applyRequest(in, out, path)
	// No User-Agent means none upstream: ReverseProxy would set an empty
	// one after this, allocating; the shared value costs nothing.
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = valEmpty
	}
}

// setTarget makes u carry exactly path and the inbound query. Opaque is
// written to the request line as is, so the upstream sees the bytes the
// client sent (after normalisation); a path starting with "//" would read as
// an authority there, so it goes through Path and RawPath instead.
func setTarget(u *url.URL, path string, in *url.URL) {
	u.RawQuery, u.ForceQuery = in.RawQuery, in.ForceQuery
	u.Fragment, u.RawFragment = "", ""
	if !strings.HasPrefix(path, "//") {
		u.Opaque, u.Path, u.RawPath = path, "", ""
		return
	}
	u.Opaque = ""
	if dec, err := url.PathUnescape(path); err == nil {
		u.Path, u.RawPath = dec, path
	} else {
		u.Path, u.RawPath = path, ""
	}
}

func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// RoundTrip sends req to an endpoint of the cluster, retrying as the
// route's retry policy (by default Istio's) says, and stamps the response
// with the headers Envoy adds.
func (p *proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	return p.roundTripRetrying(req, p.transport)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// replayBody lets a body be sent again: after a connect failure nothing
// was read from it; after a response that asks for a retry, the body is
// replayed from what was kept, when keep asked for it and the whole body
// fitted in retryBufferLimit (Envoy's default buffer limit). It remembers
// read errors, which come from the client. ReverseProxy already keeps the
// transport from closing the inbound body. The transport may still read it
// from another goroutine after RoundTrip returned, hence the lock.
type replayBody struct {
	rc   io.Reader
	mu   sync.Mutex
	read bool
	err  error

	keep     bool   // keep what is read, for a replay
	buf      []byte // what was read, while it fits
	overflow bool   // the body did not fit
	eof      bool   // the whole body was read
	// full, set on a replay copy, is the whole body it reads from.
	full []byte
	// length is the declared Content-Length, -1 when unknown: a body of
	// that length was read whole even before the reader said EOF.
	length int64
}

// retryBufferLimit is Envoy's per-connection buffer limit as Istio sets
// it: a longer body cannot be retried after it was sent.
const retryBufferLimit = 1 << 20

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	b.read = true
	if b.keep && b.full == nil && n > 0 {
		if len(b.buf)+n <= retryBufferLimit {
			b.buf = append(b.buf, p[:n]...)
		} else {
			b.overflow, b.buf = true, nil
		}
	}
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *replayBody) Close() error { return nil }

// state reports whether anything was read and the client's read error.
func (b *replayBody) state() (read bool, err error) {
	if b == nil {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.read, b.err
}

// rewind returns the body to send on a retry and whether there is one:
// the same body when nothing was read from it yet, else a fresh copy of
// the whole body when all of it was kept. The transport of the earlier
// try may still read the old body after the response came (to check for
// extra bytes), so a copy never shares a reader with it.
func (b *replayBody) rewind() (*replayBody, bool) {
	if b == nil {
		return nil, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.read:
		return b, true
	case b.full != nil:
		return &replayBody{rc: bytes.NewReader(b.full), full: b.full}, true
	case b.err != nil || !b.keep || b.overflow:
		return nil, false
	case !b.eof && (b.length < 0 || int64(len(b.buf)) != b.length):
		return nil, false
	}
	return &replayBody{rc: bytes.NewReader(b.buf), full: b.buf}, true
}

// fail answers a request the proxy could not complete, as Envoy would.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	markFlag(w, failFlags(r, err))
	var de *downstreamError
	var ce *connectError
	p.localReplyHeaders(w, r)
	switch {
	case errors.Is(err, errOverloaded):
		w.Header()["X-Envoy-Overloaded"] = valTrue
		localReply(w, http.StatusServiceUnavailable, bodyOverflow, false)
	case streamIdled(r):
		localReply(w, http.StatusRequestTimeout, errStreamIdle.Error(), false)
	case timedOut(r, err) || errors.Is(err, context.DeadlineExceeded):
		localReply(w, http.StatusGatewayTimeout, bodyUpstreamTimeout, false)
	case errors.Is(err, errNoHealthyUpstream):
		localReply(w, http.StatusServiceUnavailable, bodyNoHealthyUpstream, false)
	case errors.Is(err, errClusterNotFound):
		localReply(w, http.StatusServiceUnavailable, "", false)
	case errors.As(err, new(*http.MaxBytesError)):
		localReply(w, http.StatusRequestEntityTooLarge, bodyTooLarge, r.ProtoMajor == 1)
	case errors.As(err, &de):
		status, details, refused := http1.Refusal(de.err)
		if !refused {
			status = http.StatusBadRequest
		} else {
			noteDetails(w, details)
		}
		localReply(w, status, http.StatusText(status), r.ProtoMajor == 1)
	case errors.As(err, &ce):
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			localReply(w, http.StatusServiceUnavailable, bodyConnectTimeout, false)
		} else {
			localReply(w, http.StatusServiceUnavailable, bodyConnectFailure, false)
		}
	default:
		localReply(w, http.StatusServiceUnavailable, bodyConnTermination, false)
	}
	if r.Context().Err() == nil {
		p.log.Debug("upstream request failed", "cluster", p.up.cluster.Name, "err", err)
	}
}

// localReply writes a response of the gateway's own, with Envoy's headers.
func localReply(w http.ResponseWriter, code int, body string, closeConn bool) {
	h := w.Header()
	h["Server"] = valIstioEnvoy
	if closeConn {
		h["Connection"] = valClose
	}
	if body != "" {
		h["Content-Type"] = valTextPlain
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(code)
	if body != "" {
		_, _ = w.Write([]byte(body))
	}
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	b := idBatches.Get().(*idBatch)
	if b.next == len(b.ids) {
		b.fill()
	}
	id := b.ids[b.next : b.next+uuidLen]
	b.next += uuidLen
	idBatches.Put(b)
	return id
}

// Request ids are made idsPerBatch at a time: one random read and one
// string for all of them, instead of a read and a string per request.
const (
	uuidLen     = 36
	idsPerBatch = 32
)

type idBatch struct {
	ids  string
	next int
}

var idBatches = sync.Pool{New: func() any { return new(idBatch) }}

// fill makes the next batch of version 4 UUIDs (RFC 9562 section 5.4).
func (b *idBatch) fill() {
	var rnd [16 * idsPerBatch]byte
	_, _ = crand.Read(rnd[:]) // crypto/rand.Read never fails
	var out [uuidLen * idsPerBatch]byte
	for i := range idsPerBatch {
		r, s := rnd[16*i:16*i+16], out[uuidLen*i:uuidLen*i+uuidLen]
		r[6] = r[6]&0x0f | 0x40
		r[8] = r[8]&0x3f | 0x80
		hex.Encode(s[0:8], r[0:4])
		s[8] = '-'
		hex.Encode(s[9:13], r[4:6])
		s[13] = '-'
		hex.Encode(s[14:18], r[6:8])
		s[18] = '-'
		hex.Encode(s[19:23], r[8:10])
		s[23] = '-'
		hex.Encode(s[24:], r[10:])
	}
	b.ids, b.next = string(out[:]), 0
}
