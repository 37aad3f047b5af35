package runtime

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is a virtual host's local rate limit, gwc's annotation
// gwc.io/local-rate-limit: Envoy's local_ratelimit token bucket, which
// Istio users set with an EnvoyFilter. The bucket holds Burst tokens
// (max_tokens) and starts full; Requests tokens are added per Interval
// (tokens_per_fill per fill_interval), continuously, as Envoy's atomic
// token bucket has refilled since it replaced the timer-based one
// (envoyproxy/envoy#35207). A request takes one token; with none left it
// is answered 429.
type RateLimit struct {
	Requests int
	Interval time.Duration
	Burst    int
	// ID names where the limit came from, for logs and explain.
	ID string
}

// buckets holds the token bucket of each RateLimit of the configuration,
// made on first use: the limit is a literal in the binary, the bucket
// state of the running process.
var buckets sync.Map // *RateLimit -> *rate.Limiter

func (rl *RateLimit) bucket() *rate.Limiter {
	if b, ok := buckets.Load(rl); ok {
		return b.(*rate.Limiter)
	}
	lim := rate.NewLimiter(rate.Limit(float64(rl.Requests)/rl.Interval.Seconds()), rl.Burst)
	b, _ := buckets.LoadOrStore(rl, lim)
	return b.(*rate.Limiter)
}

// rateLimit takes a token of the request's virtual host, when it has a
// limit, and answers 429 as Envoy's local_ratelimit filter does (body
// local_rate_limited, x-envoy-ratelimited: true, response flag RL) when
// none is left. It reports whether the request goes on.
func (h *listenerHandler) rateLimit(w http.ResponseWriter, r *http.Request) bool {
	l := h.l
	vi := l.Hosts.Lookup(r.Host)
	if vi < 0 || int(vi) >= len(l.VirtualHosts) {
		return true
	}
	vh, _, err := l.virtualHost(int(vi))
	if err != nil || vh.RateLimit == nil {
		// A virtual host that does not prepare is the router's 500.
		return true
	}
	if vh.RateLimit.bucket().Allow() {
		return true
	}
	markFlag(w, flagRL)
	w.Header()["X-Envoy-Ratelimited"] = []string{"true"}
	localReply(w, http.StatusTooManyRequests, "local_rate_limited", false)
	return false
}

// check reports a limit no build writes: a bucket that never fills or
// holds nothing would refuse every request.
func (rl *RateLimit) check() error {
	if rl.Requests < 1 || rl.Burst < 1 || rl.Interval < 50*time.Millisecond {
		return errBadRateLimit
	}
	return nil
}

var errBadRateLimit = errors.New("want at least 1 request per interval of at least 50ms, and a burst of at least 1")
