package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwc-dev/gwc/runtime/internal/http1"
)

// forwarder is the upstream round tripper of the clusters that share the
// default transport. For a plain HTTP/1.1 request without a body it writes
// the request and reads the response on the caller's goroutine, over a
// pooled keep-alive connection: no goroutines or channels per request, as
// http.Transport's read and write loops need. Framing stays net/http's own
// (Request.Write out, http.ReadResponse in), so a malformed upstream
// response is rejected exactly as http.Transport rejects it. Everything
// else (request bodies, Expect, upgrades, TLS, tracing beyond 1xx
// responses) goes to the fallback transport.
type forwarder struct {
	fallback *http.Transport
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	// maxIdle bounds the idle connections kept per address; idleTimeout
	// closes one idle that long (0: never); maxHeader bounds the bytes of
	// a response's header block (and its 1xx responses), as the fallback's.
	maxIdle     int
	idleTimeout time.Duration
	maxHeader   int64
	pools       sync.Map // address -> *idlePool
}

// staleCheckAfter is how long a connection may sit idle before it is
// checked for a close by the upstream before use (upstreams close idle
// connections after seconds). Under load connections are idle for
// microseconds and skip the check, a system call.
const staleCheckAfter = 250 * time.Millisecond

// newForwarder returns a forwarder whose dialling, pool size, idle timeout
// and header limit are those of t, which serves what it cannot.
func newForwarder(t *http.Transport) *forwarder {
	f := &forwarder{
		fallback:    t,
		dial:        t.DialContext,
		maxIdle:     t.MaxIdleConnsPerHost,
		idleTimeout: t.IdleConnTimeout,
		maxHeader:   t.MaxResponseHeaderBytes,
	}
	if f.dial == nil {
		d := &net.Dialer{Timeout: connectTimeout}
		f.dial = d.DialContext
	}
	if f.maxIdle <= 0 {
		f.maxIdle = http.DefaultMaxIdleConnsPerHost
	}
	if f.maxHeader <= 0 {
		f.maxHeader = 10 << 20 // http.Transport's default
	}
	return f
}

// RoundTrip sends req and returns the upstream's response.
func (f *forwarder) RoundTrip(req *http.Request) (*http.Response, error) {
	trace, ok := f.forwardable(req)
	if !ok {
		return f.fallback.RoundTrip(req)
	}
	return f.forward(req, trace, nil)
}

// forward is RoundTrip for a forwardable req, reporting 1xx responses to
// trace (nil for none). fb, when not nil, is the response body to fill in
// (the caller's, done with any earlier use); else one is allocated.
func (f *forwarder) forward(req *http.Request, trace *httptrace.ClientTrace, fb *fbody) (*http.Response, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	replayable := isReplayable(req)
	fresh := false
	for {
		pc, err := f.conn(ctx, req.URL.Host, !replayable, fresh)
		if err != nil {
			return nil, err
		}
		resp, err := pc.roundTrip(ctx, req, trace, fb)
		if err == nil {
			return resp, nil
		}
		// A reused connection the upstream closed while it sat idle fails
		// before any response byte: try once more on a fresh connection,
		// when nothing was sent or the request may be sent twice (the rule
		// of http.Transport).
		var se *staleError
		if fresh || !pc.reused || ctx.Err() != nil || !errors.As(err, &se) || !(se.nothingWritten || replayable) {
			return nil, err
		}
		fresh = true
	}
}

// forwardable reports whether req can take the fast path, and returns the
// client trace to report 1xx responses to.
func (f *forwarder) forwardable(req *http.Request) (*httptrace.ClientTrace, bool) {
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" || req.Method == http.MethodConnect ||
		req.Body != nil && req.Body != http.NoBody || req.Header == nil {
		return nil, false
	}
	if _, ok := req.Header["Upgrade"]; ok {
		return nil, false
	}
	if _, ok := req.Header["Expect"]; ok {
		return nil, false
	}
	trace := httptrace.ContextClientTrace(req.Context())
	if trace != nil && !only1xxTrace(trace) {
		return nil, false
	}
	return trace, true
}

// only1xxTrace reports whether t asks for nothing but 1xx responses, which
// is what ReverseProxy always asks for.
func only1xxTrace(t *httptrace.ClientTrace) bool {
	return t.GetConn == nil && t.GotConn == nil && t.PutIdleConn == nil && t.GotFirstResponseByte == nil &&
		t.Got100Continue == nil && t.DNSStart == nil && t.DNSDone == nil && t.ConnectStart == nil &&
		t.ConnectDone == nil && t.TLSHandshakeStart == nil && t.TLSHandshakeDone == nil &&
		t.WroteHeaderField == nil && t.WroteHeaders == nil && t.Wait100Continue == nil && t.WroteRequest == nil
}

// checkRequest refuses what http.Transport refuses before sending: an
// invalid method, header name or header value.
func checkRequest(req *http.Request) error {
	if req.Method != "" && !isToken(req.Method) {
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	for k, vv := range req.Header {
		if !isToken(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !validHeaderValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control character but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isReplayable reports whether req may be sent twice, as net/http decides
// for a request without a body: an idempotent method or an idempotency key.
func isReplayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, k := req.Header["Idempotency-Key"]
	_, xk := req.Header["X-Idempotency-Key"]
	return k || xk
}

// wantsClose reports whether req asks to close the connection after it.
func wantsClose(req *http.Request) bool {
	return req.Close || containsToken(req.Header["Connection"], "close")
}

// conn returns a connection to addr: the most recently used idle one, or
// a new one when there is none or fresh is set. check asks for an idle one
// to be checked for a close by the upstream whatever its idle time.
func (f *forwarder) conn(ctx context.Context, addr string, check, fresh bool) (*fconn, error) {
	p := f.pool(addr)
	if !fresh {
		if pc := p.get(check); pc != nil {
			return pc, nil
		}
	}
	c, err := f.dial(ctx, "tcp", addr)
	if err != nil {
		var ce *connectError
		if !errors.As(err, &ce) {
			err = &connectError{err}
		}
		return nil, err
	}
	pc := &fconn{conn: c, pool: p}
	pc.br = bufio.NewReaderSize(pc, 16<<10)
	pc.abortFn = pc.abort
	pc.unhookFn = pc.unhook
	return pc, nil
}

func (f *forwarder) pool(addr string) *idlePool {
	if p, ok := f.pools.Load(addr); ok {
		return p.(*idlePool)
	}
	p, _ := f.pools.LoadOrStore(addr, &idlePool{f: f})
	return p.(*idlePool)
}

// CloseIdleConnections closes the idle connections of both paths.
func (f *forwarder) CloseIdleConnections() {
	f.pools.Range(func(_, v any) bool {
		v.(*idlePool).closeAll()
		return true
	})
	f.fallback.CloseIdleConnections()
}

// forget frees the pools of addrs, endpoints that are gone (a DNS refresh
// dropped them): their idle connections are closed, and connections in
// use are closed when their response ends instead of going back. The
// fallback transport can only close every idle connection it has.
func (f *forwarder) forget(addrs []string) {
	for _, a := range addrs {
		if p, ok := f.pools.LoadAndDelete(a); ok {
			p.(*idlePool).retire()
		}
	}
	f.fallback.CloseIdleConnections()
}

// idlePool holds the idle connections to one address, most recently used
// last: reusing the warmest connection lets the others age out.
type idlePool struct {
	f       *forwarder
	mu      sync.Mutex
	conns   []*fconn
	timer   *time.Timer // closes connections idle past the timeout
	retired bool        // forgotten: connections are closed, not kept
}

func (p *idlePool) get(check bool) *fconn {
	f := p.f
	now := time.Now()
	p.mu.Lock()
	for n := len(p.conns); n > 0; n = len(p.conns) {
		pc := p.conns[n-1]
		p.conns[n-1] = nil
		p.conns = p.conns[:n-1]
		idle := now.Sub(pc.idleAt)
		if f.idleTimeout > 0 && idle >= f.idleTimeout {
			// The newest is expired, so all are.
			for _, old := range p.conns {
				old.conn.Close()
			}
			clear(p.conns)
			p.conns = p.conns[:0]
			p.mu.Unlock()
			pc.conn.Close()
			return nil
		}
		p.mu.Unlock()
		// Bytes nobody asked for (a late body after a response that has
		// none, a 408 before closing) make the connection unusable.
		if pc.br.Buffered() > 0 || (check || pc.checkNext || idle >= staleCheckAfter) && !connAlive(pc.conn) {
			pc.conn.Close()
			p.mu.Lock()
			continue
		}
		pc.reused = true
		return pc
	}
	p.mu.Unlock()
	return nil
}

// put keeps pc for the next request, or closes it when the pool is full.
func (p *idlePool) put(pc *fconn) {
	pc.idleAt = time.Now()
	p.mu.Lock()
	if p.retired || len(p.conns) >= p.f.maxIdle {
		p.mu.Unlock()
		pc.conn.Close()
		return
	}
	p.conns = append(p.conns, pc)
	if p.timer == nil && p.f.idleTimeout > 0 {
		p.timer = time.AfterFunc(p.f.idleTimeout, p.sweep)
	}
	p.mu.Unlock()
}

// sweep closes the connections idle past the timeout, oldest first, and
// sets the timer again for the oldest left.
func (p *idlePool) sweep() {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for n < len(p.conns) && now.Sub(p.conns[n].idleAt) >= p.f.idleTimeout {
		p.conns[n].conn.Close()
		n++
	}
	if n > 0 {
		k := copy(p.conns, p.conns[n:])
		clear(p.conns[k:])
		p.conns = p.conns[:k]
	}
	if len(p.conns) == 0 {
		p.timer = nil
		return
	}
	p.timer.Reset(p.conns[0].idleAt.Add(p.f.idleTimeout).Sub(now))
}

func (p *idlePool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.conn.Close()
	}
	clear(p.conns)
	p.conns = p.conns[:0]
}

// retire closes the idle connections and keeps none from now on.
func (p *idlePool) retire() {
	p.closeAll()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// fconn is one upstream connection. Its Read and Write count what passes,
// for the header limit and for knowing whether anything was sent.
type fconn struct {
	conn      net.Conn
	br        *bufio.Reader
	pool      *idlePool
	idleAt    time.Time
	reused    bool  // it served an earlier request
	readLimit int64 // bytes the reader may still take
	written   int64 // bytes written in this request
	werr      error // the connection's write error in this request
	sawEOF    bool
	// checkNext asks for a check before the next request: the last
	// response could have no body, and a broken upstream may send one.
	checkNext bool
	// abortFn is abort, made once: a cancelled request's context calls it.
	abortFn func()
	// unhookFn is unhook, made once; hookCtx is the request context
	// watchCancel hooked into.
	unhookFn func() bool
	hookCtx  context.Context
	aborted  atomic.Bool
}

// abort closes the connection under a request whose context was
// cancelled, which unblocks its read or write. The connection is never
// reused after (roundTrip and fbody stop the callback first, or close).
func (pc *fconn) abort() {
	pc.aborted.Store(true)
	pc.conn.Close()
}

func (pc *fconn) Read(p []byte) (int, error) {
	if pc.readLimit <= 0 {
		return 0, fmt.Errorf("read limit of %d bytes exhausted", pc.pool.f.maxHeader)
	}
	if int64(len(p)) > pc.readLimit {
		p = p[:pc.readLimit]
	}
	n, err := pc.conn.Read(p)
	if err == io.EOF {
		pc.sawEOF = true
	}
	pc.readLimit -= int64(n)
	return n, err
}

func (pc *fconn) Write(p []byte) (int, error) {
	n, err := pc.conn.Write(p)
	pc.written += int64(n)
	if err != nil {
		pc.werr = err
	}
	return n, err
}

// staleError is a failure on a connection before any byte of the response
// came: the upstream may have closed it while it was idle.
type staleError struct {
	err            error
	nothingWritten bool
}

func (e *staleError) Error() string {
	return "upstream connection closed before the response: " + e.err.Error()
}
func (e *staleError) Unwrap() error { return e.err }

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}

// roundTrip sends req on pc and reads the response head. The connection
// goes back to the pool when the response (and its body) ends cleanly and
// neither side asked to close it; otherwise it is closed. A cancelled ctx
// closes it at once, unblocking a read or write in progress.
func (pc *fconn) roundTrip(ctx context.Context, req *http.Request, trace *httptrace.ClientTrace, fb *fbody) (*http.Response, error) {
	stop := pc.watchCancel(ctx)
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.conn.Close()
		if pc.aborted.Load() || ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}

	pc.written, pc.werr = 0, nil
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(pc)
	done, err := writeRequestHead(bw, req)
	if !done {
		err = req.Write(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		err = fmt.Errorf("writing request: %w", err)
		if pc.werr == nil {
			return fail(err) // refused by Request.Write itself
		}
		return fail(&staleError{err: err, nothingWritten: pc.written == 0})
	}

	pc.readLimit = pc.pool.f.maxHeader
	if _, err := pc.br.Peek(1); err != nil {
		return fail(&staleError{err: err})
	}
	if fb == nil {
		fb = new(fbody)
	}
	resp, fast := fb.fast.read(pc.br, req)
	for !fast {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			if pc.readLimit <= 0 {
				err = fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", pc.pool.f.maxHeader)
			}
			return fail(err)
		}
		code := resp.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
			pc.readLimit = pc.pool.f.maxHeader
		}
	}
	pc.readLimit = math.MaxInt64

	keep := !resp.Close && !wantsClose(req) && resp.StatusCode > 199
	pc.checkNext = req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified
	if req.Method == http.MethodHead || resp.ContentLength == 0 {
		if resp.Body != http.NoBody {
			// Not expected from ReadResponse; keep the framing honest.
			keep = false
		}
		if !stop() {
			keep = false
		}
		pc.release(keep)
		return resp, nil
	}
	fb.pc, fb.rc, fb.ctx, fb.stop, fb.keep = pc, resp.Body, ctx, stop, keep
	fb.state.Store(bodyOpen)
	resp.Body = fb
	return resp, nil
}

// watchCancel arranges for ctx's end to abort pc, and returns what undoes
// that (false once it has run). On the HTTP/1.1 engine's own request
// context that costs no allocation.
func (pc *fconn) watchCancel(ctx context.Context) func() bool {
	if http1.OnClientGone(ctx, pc.abortFn) {
		pc.hookCtx = ctx
		return pc.unhookFn
	}
	return context.AfterFunc(ctx, pc.abortFn)
}

func (pc *fconn) unhook() bool {
	ok := http1.ClearClientGone(pc.hookCtx)
	pc.hookCtx = nil
	return ok
}

// release puts pc back in its pool when keep holds and the connection is
// clean, else closes it.
func (pc *fconn) release(keep bool) {
	if keep && !pc.sawEOF && pc.br.Buffered() == 0 {
		pc.pool.put(pc)
		return
	}
	pc.conn.Close()
}

// fbody is a response body read from an fconn. Read and Close run on the
// handler's goroutine; Close may also come from another one to abort a
// read, which closing the connection does.
type fbody struct {
	// fast holds a response read by the fast path (forward_read.go).
	fast fastResponse
	pc   *fconn
	rc   io.ReadCloser
	ctx  context.Context
	stop func() bool
	keep bool
	// state is bodyOpen until the body ends: bodyEOF after a clean end,
	// bodyFailed after an error or Close.
	state atomic.Int32
}

const (
	bodyOpen int32 = iota
	bodyEOF
	bodyFailed
)

var errBodyClosed = errors.New("http: read on closed response body")

func (b *fbody) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEOF:
		return 0, io.EOF
	case bodyFailed:
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		if b.pc.aborted.Load() || b.ctx.Err() != nil {
			err = context.Cause(b.ctx)
		}
		b.finish(false)
	}
	return n, err
}

// finish ends the response once: the connection goes back to the pool
// only after a clean end that nothing cancelled.
func (b *fbody) finish(clean bool) {
	end := bodyFailed
	if clean {
		end = bodyEOF
	}
	if !b.state.CompareAndSwap(bodyOpen, end) {
		return
	}
	keep := clean && b.stop() && b.keep
	if !clean {
		b.stop()
	}
	b.pc.release(keep)
}

func (b *fbody) Close() error {
	b.finish(false)
	return nil
}
