package runtime

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Envoy's fault filter: a delay, then an abort, each for a share of the
// requests, before the route's action runs.

const bodyFaultAbort = "fault filter abort"

var valGRPC = []string{"application/grpc"}

// fires reports whether a fault with the given percentage (0-100) applies
// to this request.
func fires(percent float64) bool {
	return percent >= 100 || (percent > 0 && rand.Float64()*100 < percent)
}

// apply delays and aborts r as f says. It reports whether it answered the
// request (an abort, or the client gone during the delay).
func (f *Fault) apply(w http.ResponseWriter, r *http.Request, rt *Route) bool {
	if f.Delay > 0 && fires(f.DelayPercent) {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if (f.AbortStatus == 0 && f.AbortGRPC < 0) || !fires(f.AbortPercent) {
		return false
	}
	rt.localHeaders(w, r)
	if f.AbortGRPC >= 0 {
		// A gRPC abort is a trailers-only response: HTTP 200 with the
		// status in the headers.
		h := w.Header()
		h["Content-Type"] = valGRPC
		h["Grpc-Status"] = []string{strconv.Itoa(f.AbortGRPC)}
		h["Grpc-Message"] = []string{bodyFaultAbort}
		localReply(w, http.StatusOK, "", false)
		return true
	}
	localReply(w, f.AbortStatus, bodyFaultAbort, false)
	return true
}
