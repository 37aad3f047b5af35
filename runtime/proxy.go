package runtime

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Upstream behaviour of Istio's defaults: connect timeout 10s, no response
// timeout, 2 retries on connect failure (to another endpoint when there is
// one) with Envoy's jittered back-off from 25ms, at most 250ms.
const (
	connectTimeout = 10 * time.Second
	maxRetries     = 2
	retryBase      = 25 * time.Millisecond
	retryMax       = 250 * time.Millisecond
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
}

func newProxy(up *upstream, transport http.RoundTripper, pool bufferPool, log *slog.Logger) *proxy {
	p := &proxy{up: up, transport: transport, log: log}
	p.rp = httputil.ReverseProxy{
		Rewrite:       p.rewrite,
		Transport:     p,
		FlushInterval: flushLatency, // stream as Envoy does
		BufferPool:    pool,
		ErrorHandler:  p.fail,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return p
}

// rewrite sets the upstream request: the normalised path and the raw query
// as sent, the Host as the client sent it, and the headers Istio's gateway
// sets.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.URL.Scheme = "http"
	path, _ := normalizePath(requestPath(in))
	setTarget(out.URL, path, in.URL)
	out.Host = in.Host

	// use_remote_address with no trusted hops: append the peer's address,
	// joined with "," as Envoy joins header values (no space).
	if ip := clientIP(in.RemoteAddr); ip != "" {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			out.Header["X-Forwarded-For"] = []string{strings.Join(prior, ",") + "," + ip}
		} else {
			out.Header["X-Forwarded-For"] = []string{ip}
		}
	}
	if in.TLS != nil {
		out.Header["X-Forwarded-Proto"] = valHTTPS
	} else {
		out.Header["X-Forwarded-Proto"] = valHTTP
	}
	if in.Header.Get("X-Request-Id") == "" {
		out.Header["X-Request-Id"] = []string{newRequestID()}
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

// RoundTrip sends req to an endpoint of the cluster, retrying on connect
// failure as Istio's default retry policy does, and stamps the response
// with the headers Envoy adds.
func (p *proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	set := p.up.endpoints(ctx)
	if len(set.addrs) == 0 {
		return nil, errNoHealthyUpstream
	}
	var body *replayBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &replayBody{rc: req.Body}
		req.Body = body
	}
	var tried [maxRetries + 1]string
	for attempt := 0; ; attempt++ {
		addr := p.up.pickAddr(set, tried[:attempt])
		tried[attempt] = addr
		req.URL.Host = addr
		req.Header["X-Envoy-Attempt-Count"] = valAttempts[attempt]
		start := time.Now()
		resp, err := p.transport.RoundTrip(req)
		if err == nil {
			resp.Header["Server"] = valIstioEnvoy
			ms := time.Since(start).Milliseconds()
			resp.Header["X-Envoy-Upstream-Service-Time"] = []string{strconv.FormatInt(ms, 10)}
			return resp, nil
		}
		read, bodyErr := body.state()
		if bodyErr != nil {
			return nil, &downstreamError{bodyErr}
		}
		var ce *connectError
		if attempt == maxRetries || !errors.As(err, &ce) || read || ctx.Err() != nil {
			return nil, err
		}
		p.log.Debug("retrying upstream", "cluster", p.up.cluster.Name, "endpoint", addr, "attempt", attempt+1, "err", err)
		if !sleepCtx(ctx, backoff(attempt+1)) {
			return nil, err
		}
	}
}

// backoff returns Envoy's fully jittered exponential back-off before retry
// n (1-based): uniform in [0, (2^n-1)*base], at most retryMax.
func backoff(n int) time.Duration {
	limit := min(time.Duration(1<<n-1)*retryBase, retryMax)
	return time.Duration(rand.Int64N(int64(limit) + 1))
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

// replayBody lets a body be sent again after a connect failure: nothing was
// read from it then. It remembers read errors, which come from the client.
// ReverseProxy already keeps the transport from closing the inbound body.
// The transport may still read it from another goroutine after RoundTrip
// returned, hence the lock.
type replayBody struct {
	rc   io.Reader
	mu   sync.Mutex
	read bool
	err  error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	b.read = true
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

// fail answers a request the proxy could not complete, as Envoy would.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *downstreamError
	var ce *connectError
	switch {
	case errors.Is(err, errNoHealthyUpstream):
		localReply(w, http.StatusServiceUnavailable, bodyNoHealthyUpstream, false)
	case errors.As(err, &de):
		localReply(w, http.StatusBadRequest, "Bad Request", r.ProtoMajor == 1)
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
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
