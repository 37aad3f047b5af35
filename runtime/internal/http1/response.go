package http1

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of one request; the connection
// reuses it. The head is written as late as possible: with the first
// body bytes that do not fit the pending buffer, at a Flush, or when the
// handler returns (then with a Content-Length), so a small response
// leaves in one write.
type response struct {
	c   *conn
	req *http.Request
	hdr http.Header

	status      int
	wroteHeader bool // a final status was set
	headWritten bool
	chunked     bool
	bodyless    bool  // HEAD, 204, 304: no body bytes on the wire
	clen        int64 // declared Content-Length, -1 if none
	written     int64
	pending     []byte
	hijacked    bool
	aborted     bool
	werr        error
}

// pendingMax is how much body is held back waiting for the handler to
// finish, to send it with a Content-Length in the same write as the head.
const pendingMax = 4 << 10

var _ interface {
	http.ResponseWriter
	http.Flusher
	http.Hijacker
} = (*response)(nil)

func (w *response) reset(r *http.Request) {
	w.req = r
	clear(w.hdr)
	w.status, w.wroteHeader, w.headWritten, w.chunked, w.bodyless = 0, false, false, false, false
	w.clen, w.written, w.pending, w.hijacked, w.aborted, w.werr = -1, 0, w.pending[:0], false, false, nil
}

func (w *response) Header() http.Header { return w.hdr }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.status, w.wroteHeader = code, true
	w.bodyless = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if v := w.hdr["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.clen = n
		} else {
			delete(w.hdr, "Content-Length")
		}
	}
}

// writeInformational sends a 1xx response (103 Early Hints, a proxied
// 100) at once, with the headers set so far.
func (w *response) writeInformational(code int) {
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if w.werr != nil {
		return
	}
	bw := c.writer()
	bw.WriteString(statusLine(code))
	w.writeFields(bw)
	bw.WriteString("\r\n")
	w.fail(bw.Flush())
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, errHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.werr != nil {
		return 0, w.werr
	}
	if w.bodyless {
		return len(p), nil
	}
	if w.clen >= 0 && w.written+int64(len(p)) > w.clen {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.headWritten {
		if len(w.pending)+len(p) <= pendingMax {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.c.wmu.Lock()
		w.writeHead(-1)
		w.c.wmu.Unlock()
	}
	return w.writeBody(p)
}

func (w *response) writeBody(p []byte) (int, error) {
	bw := w.c.writer()
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		var hx [16]byte
		bw.Write(strconv.AppendInt(hx[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		w.fail(err)
	} else {
		_, err := bw.Write(p)
		w.fail(err)
	}
	if w.werr != nil {
		return 0, w.werr
	}
	return len(p), nil
}

func (w *response) Flush() { w.FlushError() }

// FlushError sends the head and what is buffered (http.ResponseController
// calls it).
func (w *response) FlushError() error {
	if w.hijacked {
		return errHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if !w.headWritten {
		w.writeHead(-1)
	}
	if w.werr == nil {
		w.fail(w.c.writer().Flush())
	}
	return w.werr
}

// Hijack hands the connection to the handler (an upgrade).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.headWritten {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	return w.c.hijack()
}

// finish ends the response after the handler returned.
func (w *response) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	c := w.c
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !w.headWritten {
		if w.clen >= 0 {
			w.writeHead(-1)
		} else {
			w.writeHead(int64(len(w.pending)))
		}
	}
	bw := c.writer()
	if w.chunked && w.werr == nil {
		bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		bw.WriteString("\r\n")
	}
	if w.clen >= 0 && w.written < w.clen && !w.bodyless {
		// The handler sent less than it declared: the client would wait
		// for the rest, so the connection ends here.
		c.close = true
	}
	if w.werr == nil {
		w.fail(bw.Flush())
	}
	return w.werr
}

// discard drops a response that has not started, so that the engine can
// answer instead.
func (w *response) discard() {
	w.pending = w.pending[:0]
	w.headWritten = true
}

func (w *response) fail(err error) {
	if err != nil && w.werr == nil {
		w.werr = err
		w.c.close = true
		// The client is gone: whatever works for it stops.
		w.c.cancel()
	}
}

// writeHead writes the status line, the header fields and the framing,
// then the pending body. final is the whole body's length when the
// handler has returned, -1 otherwise. The caller holds wmu.
func (w *response) writeHead(final int64) {
	w.headWritten = true
	c := w.c
	bw := c.writer()
	if c.srv.inShut.Load() {
		c.close = true
	}
	if !c.close {
		if v, ok := w.hdr["Connection"]; ok && hasToken([]byte(strings.Join(v, ",")), "close") {
			c.close = true
		}
	}
	bw.WriteString(statusLine(w.status))
	trailers := w.writeFields(bw)
	if _, ok := w.hdr["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.WriteString(httpDate())
		bw.WriteString("\r\n")
	}
	switch {
	case w.status == http.StatusNoContent || w.status == http.StatusNotModified || w.status < 200:
	case w.clen >= 0:
	case w.bodyless:
		if final > 0 && w.req.Method == http.MethodHead {
			bw.WriteString("Content-Length: ")
			bw.WriteString(strconv.FormatInt(final, 10))
			bw.WriteString("\r\n")
		}
	case final >= 0 && !trailers:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(final, 10))
		bw.WriteString("\r\n")
	default:
		w.chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if c.close {
		if _, ok := w.hdr["Connection"]; !ok {
			bw.WriteString("Connection: close\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	w.fail(err)
	if len(w.pending) > 0 && !w.bodyless {
		p := w.pending
		w.pending = w.pending[:0]
		w.writeBody(p)
	}
}

// writeFields writes the header fields but the framing ones the engine
// decides, and the trailers, sorted by name. Values with CR or LF are
// written with spaces instead (no response splitting), as net/http does.
// It reports whether the handler declared trailers or set some with
// http.TrailerPrefix: then the body is chunked so they can follow.
func (w *response) writeFields(bw *bufio.Writer) (trailers bool) {
	keys := w.c.keys[:0]
	for k := range w.hdr {
		switch {
		case k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix):
			trailers = true
			continue
		case k == "Transfer-Encoding" || !validName(k):
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range w.hdr[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			writeValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
	if v, ok := w.hdr["Trailer"]; ok && w.status >= 200 {
		for _, t := range v {
			bw.WriteString("Trailer: ")
			writeValue(bw, t)
			bw.WriteString("\r\n")
		}
	}
	clear(keys)
	w.c.keys = keys[:0]
	return trailers
}

func writeValue(bw *bufio.Writer, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(strings.TrimSpace(v))
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return false
		}
	}
	return true
}

// writeTrailers writes the declared trailers and those set with
// http.TrailerPrefix after the last chunk.
func (w *response) writeTrailers(bw *bufio.Writer) {
	for _, decl := range w.hdr["Trailer"] {
		for k := range strings.SplitSeq(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if !validName(k) {
				continue
			}
			for _, v := range w.hdr[k] {
				bw.WriteString(k + ": ")
				writeValue(bw, v)
				bw.WriteString("\r\n")
			}
		}
	}
	for k, vv := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && validName(name) {
			for _, v := range vv {
				bw.WriteString(name + ": ")
				writeValue(bw, v)
				bw.WriteString("\r\n")
			}
		}
	}
}

// The Date header, formatted once a second.
var dateCache atomic.Pointer[dateValue]

type dateValue struct {
	sec int64
	s   string
}

func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateValue{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}
