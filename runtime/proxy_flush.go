package runtime

import "net/http"

// flushWriter sends every write of a proxied response on at once, as
// Envoy streams: a client sees the headers and whatever arrived of the
// body even when the upstream then fails, and a small response still
// leaves in one write (headers and body flushed together).
//
// ReverseProxy's own FlushInterval cannot do this cheaply: a negative
// interval flushes the headers from a timer goroutine, which costs a
// goroutine and a second write per response and races the end of a gRPC
// trailers-only response; a positive one holds a response cut short by an
// upstream reset in the buffer, and the client sees nothing. Here the
// flush runs on the handler's goroutine, right after the write.
type flushWriter struct{ http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.ResponseWriter.Write(b)
	if fl, ok := f.ResponseWriter.(http.Flusher); ok && err == nil {
		fl.Flush()
	}
	return n, err
}

// Flush lets ReverseProxy's flushes (streams of unknown length) through.
func (f flushWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath, for
// upgrades (Hijack) and deadlines.
func (f flushWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }
