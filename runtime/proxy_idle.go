package runtime

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The stream idle timeout (--stream-idle-timeout, Envoy's
// stream_idle_timeout; Istio disables it at gateways, so it is off unless
// set): a proxied request whose body and response move no byte for the
// duration is ended, with 408 when nothing was answered yet, as Envoy
// answers. Each byte either way, and the wait for the upstream's first,
// restart the clock. An upgraded connection (WebSocket) is not watched
// once handed over.

var errStreamIdle = errors.New("stream timeout")

// idleWatch is one request's clock.
type idleWatch struct {
	mu     sync.Mutex
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
}

func (iw *idleWatch) touch() {
	iw.mu.Lock()
	if iw.timer != nil {
		iw.timer.Reset(iw.d)
	}
	iw.mu.Unlock()
}

func (iw *idleWatch) stop() {
	iw.mu.Lock()
	if iw.timer != nil {
		iw.timer.Stop()
		iw.timer = nil
	}
	iw.mu.Unlock()
}

// withStreamIdle watches w and r for d of silence; the returned func ends
// the watch.
func withStreamIdle(w http.ResponseWriter, r *http.Request, d time.Duration) (http.ResponseWriter, *http.Request, func()) {
	ctx, cancel := context.WithCancelCause(r.Context())
	iw := &idleWatch{d: d, cancel: cancel}
	iw.timer = time.AfterFunc(d, func() { cancel(errStreamIdle) })
	r = r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &idleBody{ReadCloser: r.Body, iw: iw}
	}
	return &idleWriter{ResponseWriter: w, iw: iw}, r, func() {
		iw.stop()
		cancel(nil)
	}
}

type idleBody struct {
	io.ReadCloser
	iw *idleWatch
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.iw.touch()
	}
	return n, err
}

type idleWriter struct {
	http.ResponseWriter
	iw *idleWatch
}

func (w *idleWriter) Write(p []byte) (int, error) {
	w.iw.touch()
	return w.ResponseWriter.Write(p)
}

func (w *idleWriter) WriteHeader(code int) {
	w.iw.touch()
	w.ResponseWriter.WriteHeader(code)
}

func (w *idleWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack ends the watch: the upgraded connection is copied elsewhere.
func (w *idleWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.iw.stop()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// streamIdled reports whether r's stream idle timeout ended it.
func streamIdled(r *http.Request) bool {
	return errors.Is(context.Cause(r.Context()), errStreamIdle)
}
