package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one client connection: its read buffer, and the request,
// header map and response it reuses for every request it carries.
type conn struct {
	srv    *Server
	rwc    net.Conn
	remote string
	state  atomic.Int32
	start  time.Time
	// idleSince is when the connection last turned idle (UnixNano), for
	// the shutdown's IdleGrace.
	idleSince atomic.Int64
	served    int

	ctx    context.Context
	cancel context.CancelFunc

	// buf[r:w] is what has been read and not consumed.
	buf  []byte
	r, w int
	rerr error // the read error that ended the connection's input

	wmu sync.Mutex // orders writes: the handler's and a 100 Continue
	bw  *bufio.Writer

	head head
	req  *http.Request
	url  url.URL
	hdr  http.Header
	vals []string // backs the header values of one request
	body body
	resp response
	keys []string // for sorting response headers
	// reqStart is when the current request's first byte came.
	reqStart time.Time
	close    bool // close after this response
	watch    watcher
}

const (
	initialBuf = 4 << 10
	writeBuf   = 8 << 10
	// maxDiscard is how much of an unread request body is read and
	// dropped to keep the connection (net/http's figure); past it the
	// connection closes.
	maxDiscard = 256 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, initialBuf); return &b }}

var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

func (c *conn) serve() {
	s := c.srv
	c.remote = c.rwc.RemoteAddr().String()
	ctx := context.WithValue(context.Background(), http.ServerContextKey, s)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, c.rwc.LocalAddr())
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, c.rwc)
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.ctx = context.WithValue(ctx, connKey{}, c)
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			if s.Log != nil {
				s.Log.Error("handler panicked", "remote", c.remote, "panic", fmt.Sprint(p), "stack", string(buf))
			}
		}
		c.cancel()
		if !c.resp.hijacked {
			c.rwc.Close()
		}
		s.forget(c)
		c.release()
	}()
	if a, ok := c.rwc.(interface{ NegotiatedProtocol() string }); ok && a.NegotiatedProtocol() == "h2" {
		c.handOffH2()
		return
	}
	bp := bufPool.Get().(*[]byte)
	c.buf = *bp
	for {
		if !c.readRequest() {
			return
		}
		if c.resp.hijacked {
			return
		}
		// A shutdown that began after the response's head was written
		// (without "Connection: close") does not close here: the client
		// may already be sending its next request on the connection.
		// The connection goes idle, and the shutdown closes it after
		// IdleGrace, or the next request is answered with
		// "Connection: close".
		if c.close {
			c.closeWrite()
			return
		}
	}
}

// release returns the connection's buffers to their pools.
func (c *conn) release() {
	if c.watch.timer != nil {
		c.watch.timer.Stop()
	}
	if c.resp.hijacked {
		return
	}
	if c.buf != nil && cap(c.buf) == initialBuf {
		b := c.buf[:initialBuf]
		bufPool.Put(&b)
	}
	c.buf = nil
	if c.bw != nil {
		c.bw.Reset(nil)
		writerPool.Put(c.bw)
		c.bw = nil
	}
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBuf) }}

// closeWrite half-closes before the connection is closed, so a response
// already sent is not lost to a reset when the client has sent more.
func (c *conn) closeWrite() {
	if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// handOffH2 gives the connection to the HTTP/2 server.
func (c *conn) handOffH2() {
	if c.srv.H2 == nil {
		return
	}
	c.srv.forget(c)
	c.resp.hijacked = true // the HTTP/2 server owns it now
	var buffered []byte
	if c.w > c.r {
		buffered = bytes.Clone(c.buf[c.r:c.w])
	}
	c.rwc.SetReadDeadline(time.Time{})
	c.srv.H2(c.rwc, buffered)
}

// fill reads more bytes into buf, growing it up to limit.
func (c *conn) fill(limit int) error {
	if c.r > 0 && c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else if len(c.buf) < limit {
			nb := make([]byte, min(2*len(c.buf), limit))
			copy(nb, c.buf[:c.w])
			c.buf = nb
		} else {
			return errTooLarge
		}
	}
	n, err := c.rwc.Read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if c.srv.RequestTimeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		err = errRequestTimeout
	}
	c.rerr = err
	return err
}

// readRequest reads, parses and serves one request. It reports whether the
// connection may carry another.
func (c *conn) readRequest() bool {
	s := c.srv
	first := c.served == 0
	if c.r == c.w {
		if !first {
			c.idleSince.Store(time.Now().UnixNano())
			if !c.state.CompareAndSwap(stateActive, stateIdle) {
				return false
			}
		}
		if d := s.IdleTimeout; !first && d > 0 {
			c.rwc.SetReadDeadline(time.Now().Add(d))
		} else if d := s.ReadHeaderTimeout; first && d > 0 {
			c.rwc.SetReadDeadline(time.Now().Add(d))
		}
		if c.fill(len(c.buf)) != nil {
			return false
		}
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) && !c.state.CompareAndSwap(stateNew, stateActive) &&
		c.state.Load() == stateClosed {
		return false
	}
	// The request's clock starts at its first byte (or, for the first
	// request, at accept).
	c.reqStart = time.Now()
	if first {
		c.reqStart = c.start
	}
	if d := s.ReadHeaderTimeout; !first && d > 0 {
		c.rwc.SetReadDeadline(time.Now().Add(d))
	}
	if first && !c.readPastPreface() {
		return false
	}
	// RFC 9112 section 2.2: ignore at least one empty line before a
	// request line (net/http drops up to 4 bytes of CR and LF).
	for skipped := 0; skipped < 4; {
		if c.r == c.w {
			if c.fill(len(c.buf)) != nil {
				return false
			}
		}
		if b := c.buf[c.r]; b == '\n' {
			c.r++
			skipped++
		} else if b == '\r' && c.r+1 < c.w && c.buf[c.r+1] == '\n' {
			c.r += 2
			skipped += 2
		} else if b == '\r' && c.r+1 == c.w {
			if c.fill(len(c.buf)) != nil {
				return false
			}
		} else {
			break
		}
	}
	limit := s.maxHeaderBytes()
	scan := 0
	for {
		end, next := findHeadEnd(c.buf[c.r:c.w], scan)
		if end >= 0 {
			return c.serveHead(c.buf[c.r:c.r+end], end)
		}
		scan = next
		if c.w-c.r > limit {
			c.reject(errTooLarge)
			return false
		}
		if err := c.fill(limit + 4<<10); err != nil {
			switch {
			case err == errTooLarge:
				c.reject(errTooLarge)
			case errors.Is(err, os.ErrDeadlineExceeded) && c.w > c.r:
				// Envoy's request_headers_timeout: a head started and not
				// finished in time gets 408 before the close.
				c.reject(errHeaderTimeout)
			}
			return false
		}
	}
}

// readPastPreface hands a connection that opens with HTTP/2's preface to
// the HTTP/2 server, and reports whether it is still HTTP/1's.
func (c *conn) readPastPreface() bool {
	for {
		got := c.buf[c.r:c.w]
		n := min(len(got), len(h2Preface))
		if !bytes.Equal(got[:n], h2Preface[:n]) {
			return true
		}
		if n == len(h2Preface) {
			c.handOffH2()
			return false
		}
		if c.fill(len(c.buf)) != nil {
			return false
		}
	}
}

// serveHead parses the head in b (n bytes of buf) and serves its request.
func (c *conn) serveHead(b []byte, n int) bool {
	s := c.srv
	h := &c.head
	if err := parseHead(b, h, s.maxHeaderCount()); err != nil {
		c.reject(err.(*reject))
		return false
	}
	c.served++
	c.r += n
	// One string for the whole head: every key and value is a piece of it.
	hs := string(b)
	if !c.fillRequest(hs) {
		return false
	}
	// Envoy's request_timeout: the whole request, body included, within
	// RequestTimeout of its start (an idle bound restarts on every byte,
	// so only this stops a body sent a byte a minute).
	var bodyDeadline time.Time
	if d := c.srv.RequestTimeout; d > 0 && c.req.Body != http.NoBody {
		bodyDeadline = c.reqStart.Add(d)
	}
	c.rwc.SetReadDeadline(bodyDeadline)
	c.armWatch()
	c.serveRequest()
	if !c.disarm() {
		c.close = true
	}
	return c.finishRequest()
}

// fillRequest sets the connection's request from the parsed head.
func (c *conn) fillRequest(hs string) bool {
	h := &c.head
	if c.req == nil {
		c.req = (&http.Request{}).WithContext(c.ctx)
		c.hdr = make(http.Header, 16)
		c.resp.hdr = make(http.Header, 16)
		c.resp.c = c
	}
	r := c.req
	if r.Context() != c.ctx {
		// A handler replaced the request's context (the gateway's
		// admission step puts the verified identity there): what it put
		// there belongs to that request, never to the next one on the
		// connection.
		*r = *r.WithContext(c.ctx)
	}
	clear(c.hdr)
	c.vals = c.vals[:0]
	if cap(c.vals) < len(h.fields) {
		c.vals = make([]string, 0, max(len(h.fields), 16))
	}
	// Fields that are not header fields of the request: the Host is
	// r.Host and the framing fields are r.ContentLength, TransferEncoding
	// and Trailer, as net/http keeps them; an Upgrade that Connection does
	// not name is not for this hop (RFC 9110 section 7.8; Envoy removes
	// it), and an h2c upgrade is not switched (RFC 9113 section 3.1
	// deprecates it; Envoy removes it and serves the request as HTTP/1.1).
	h2c := h.upgrade && h.upgrades == 1 && h.h2c
	seenCL := false
	for i, f := range h.fields {
		switch {
		case i == h.host, f.canon == "Transfer-Encoding", f.canon == "Trailer" && h.chunked,
			f.canon == "Upgrade" && (!h.upgrade || h2c), f.canon == "Http2-Settings" && h2c:
			continue
		case f.canon == "Content-Length":
			if seenCL {
				continue // an equal repeat (parseHead refused others)
			}
			seenCL = true
		}
		name := f.canon
		if name == "" {
			name = hs[f.name.off:f.name.end]
		}
		v := hs[f.value.off:f.value.end]
		if old, ok := c.hdr[name]; ok {
			c.hdr[name] = append(old, v)
			continue
		}
		i := len(c.vals)
		c.vals = append(c.vals, v)
		c.hdr[name] = c.vals[i : i+1 : i+1]
	}
	target := hs[h.target.off:h.target.end]
	r.Method = h.method
	r.RequestURI = target
	r.ProtoMajor, r.ProtoMinor = 1, h.minor
	r.Proto = "HTTP/1.1"
	if h.minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	r.Header = c.hdr
	r.RemoteAddr = c.remote
	r.Close = h.close || h.minor == 0
	r.TLS, r.Form, r.PostForm, r.MultipartForm, r.Trailer, r.GetBody, r.Response = nil, nil, nil, nil, nil, nil, nil
	r.TransferEncoding = nil
	r.Pattern = ""
	if !c.setURL(target) {
		c.reject(errTarget)
		return false
	}
	r.URL = &c.url
	r.Host = ""
	if h.host >= 0 {
		f := h.fields[h.host]
		r.Host = hs[f.value.off:f.value.end]
	}
	if c.url.Host != "" {
		// RFC 9112 section 3.2.2: with an absolute-form target the Host
		// header is ignored in favour of the target's authority.
		r.Host = c.url.Host
	}
	c.body.reset(c, r)
	switch {
	case h.chunked:
		r.ContentLength = -1
		r.TransferEncoding = chunkedTE
		c.body.chunked = true
		r.Body = &c.body
	case h.clen > 0:
		r.ContentLength = h.clen
		c.body.remain = h.clen
		r.Body = &c.body
	default:
		r.ContentLength = 0
		r.Body = http.NoBody
	}
	if h.trailers >= 0 && h.chunked {
		f := h.fields[h.trailers]
		r.Trailer = declaredTrailers(hs[f.value.off:f.value.end])
	}
	if h.expect >= 0 && r.Body != http.NoBody {
		f := h.fields[h.expect]
		if EqualFold([]byte(hs[f.value.off:f.value.end]), "100-continue") {
			c.body.continue100 = true
		}
	}
	c.close = r.Close
	c.resp.reset(r)
	return true
}

var chunkedTE = []string{"chunked"}

func declaredTrailers(v string) http.Header {
	t := http.Header{}
	for k := range strings.SplitSeq(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			t[http.CanonicalHeaderKey(k)] = nil
		}
	}
	return t
}

// setURL parses target into c.url. Paths of plain characters and their
// query take a fast path that gives what url.ParseRequestURI gives;
// anything else goes through it.
func (c *conn) setURL(target string) bool {
	c.url = url.URL{}
	if target[0] == '/' {
		path, query, hasQuery := cut(target, '?')
		if plainPath(path) {
			c.url.Path, c.url.RawQuery, c.url.ForceQuery = path, query, hasQuery && query == ""
			return true
		}
	}
	raw := target
	authority := c.head.method == "CONNECT" && target[0] != '/'
	if authority {
		raw = "http://" + target
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return false
	}
	if authority {
		u.Scheme = ""
	}
	c.url = *u
	return true
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// plainPath reports whether p holds only characters that url's path
// parsing keeps as they are (so Path is p and RawPath empty).
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '/':
		case c == '$' || c == '&' || c == '+' || c == ',' || c == ':' || c == ';' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

// serveRequest runs the handler. A panic of http.ErrAbortHandler (a
// proxy giving up mid-stream) ends the connection without more output.
func (c *conn) serveRequest() {
	defer func() {
		if p := recover(); p != nil {
			c.close = true
			c.resp.aborted = true
			if p != http.ErrAbortHandler {
				panic(p)
			}
		}
	}()
	c.srv.Handler.ServeHTTP(&c.resp, c.req)
}

// finishRequest completes the response and decides whether the
// connection carries another request.
func (c *conn) finishRequest() bool {
	w := &c.resp
	if w.hijacked {
		c.srv.forget(c)
		return false
	}
	c.body.mu.Lock()
	bodyErr, done, expecting := c.body.err, c.body.done || c.req.Body == http.NoBody, c.body.continue100
	c.body.mu.Unlock()
	if w.aborted {
		c.body.Close()
		return false
	}
	if rj := framingError(bodyErr); rj != nil {
		// The body broke its framing: nothing after it can be trusted.
		c.close = true
		if !w.headWritten {
			w.discard()
			c.body.Close()
			c.reject(rj)
			return false
		}
	}
	if !done && (expecting || bodyErr != nil) {
		c.close = true
	}
	c.body.mu.Lock()
	c.body.continue100 = false
	if !done && !c.body.chunked && c.body.remain > maxDiscard {
		// Too much left to read just to find the next request (net/http's
		// rule): the response says the connection closes.
		c.close = true
	}
	c.body.mu.Unlock()
	if err := w.finish(); err != nil {
		c.body.Close()
		return false
	}
	if !done && !c.close {
		// Read what is left of the body, after the response, to find the
		// next request.
		if n, err := io.CopyN(io.Discard, &c.body, maxDiscard+1); err != io.EOF || n > maxDiscard {
			c.close = true
		}
	}
	c.body.Close()
	return !c.close
}

// reject answers a request the engine refuses, and closes the connection
// after it: the bytes that follow cannot be framed.
func (c *conn) reject(rj *reject) {
	c.close = true
	if c.srv.Rejected != nil {
		c.srv.Rejected(c.rwc, rj.status, rj.reason)
	}
	c.srv.logDebug("http1: request refused", "remote", c.remote, "status", rj.status, "reason", rj.reason)
	text := http.StatusText(rj.status)
	var b []byte
	b = append(b, statusLine(rj.status)...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	b = append(b, "\r\nContent-Type: text/plain\r\nDate: "...)
	b = append(b, httpDate()...)
	b = append(b, "\r\nServer: istio-envoy\r\nConnection: close\r\n\r\n"...)
	b = append(b, text...)
	c.rwc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.wmu.Lock()
	c.rwc.Write(b)
	c.wmu.Unlock()
	c.closeWrite()
}

// readBody reads body bytes: what is buffered first, then the connection.
func (c *conn) readBody(p []byte) (int, error) {
	if c.r < c.w {
		n := copy(p, c.buf[c.r:c.w])
		c.r += n
		return n, nil
	}
	if c.rerr != nil {
		return 0, c.rerr
	}
	n, err := c.rwc.Read(p)
	if err != nil && n == 0 {
		if c.srv.RequestTimeout > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			err = errRequestTimeout
		}
		c.rerr = err
	}
	return n, err
}

// readLine returns the next line, which must end in CRLF, without it. A
// line longer than max (0: no content at all) is an error. The line is
// valid until the next read.
func (c *conn) readLine(max int) ([]byte, error) {
	scan := c.r
	for {
		if i := bytes.IndexByte(c.buf[scan:c.w], '\n'); i >= 0 {
			end := scan + i
			if end == c.r || c.buf[end-1] != '\r' {
				return nil, errBadChunk // a bare LF
			}
			line := c.buf[c.r : end-1]
			if bytes.IndexByte(line, '\r') >= 0 {
				return nil, errBareCR
			}
			c.r = end + 1
			return line, nil
		}
		if c.w-c.r > max+1 {
			if max == 0 {
				return nil, errBadChunk
			}
			return nil, errChunkTooLong
		}
		scan = c.w
		if c.rerr != nil {
			return nil, io.ErrUnexpectedEOF
		}
		if c.r > 0 {
			scan -= c.r
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		if err := c.fill(len(c.buf)); err != nil {
			if rj := framingError(err); rj != nil {
				return nil, rj
			}
			return nil, io.ErrUnexpectedEOF
		}
	}
}

// writeContinue answers "Expect: 100-continue" before the body is read,
// unless the final response has started.
func (c *conn) writeContinue() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.resp.headWritten || c.resp.werr != nil {
		return nil
	}
	bw := c.writer()
	bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	return bw.Flush()
}

func (c *conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = writerPool.Get().(*bufio.Writer)
		c.bw.Reset(c.rwc)
	}
	return c.bw
}

// hijack hands the connection to the handler, with what is buffered.
func (c *conn) hijack() (net.Conn, *bufio.ReadWriter, error) {
	// The connection's bytes are the handler's now: a background read
	// must not take one (what it took goes back in front).
	c.disarm()
	c.rwc.SetDeadline(time.Time{})
	var rd io.Reader = c.rwc
	if c.r < c.w {
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(c.buf[c.r:c.w])), c.rwc)
		c.r = c.w
	}
	c.srv.forget(c)
	return c.rwc, bufio.NewReadWriter(bufio.NewReader(rd), bufio.NewWriter(c.rwc)), nil
}

var errHijacked = http.ErrHijacked
