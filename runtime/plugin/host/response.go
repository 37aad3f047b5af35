package host

import (
	"context"
	"net/http"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

// responseWriter runs the response hooks just before the response header
// is written. A hook that fails (down, late) leaves the response as it is:
// it has already been decided upstream.
type responseWriter struct {
	http.ResponseWriter
	plugins []*plugin
	req     *sdk.Request
	ctx     context.Context
	done    bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		h := w.ResponseWriter.Header()
		resp := &sdk.Response{Status: code, Headers: h}
		for _, p := range w.plugins {
			inst := p.cur.Load()
			if inst == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(w.ctx, p.spec.Timeout)
			act, err := inst.filter.OnResponse(ctx, w.req, resp)
			cancel()
			if err != nil {
				p.callFailed(inst, err)
				p.log.Debug("response hook failed", "err", err)
				continue
			}
			applyHeaders(h, act)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer (flush,
// deadlines, hijack for upgrades).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush is called directly by code that type-asserts http.Flusher.
func (w *responseWriter) Flush() {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}
