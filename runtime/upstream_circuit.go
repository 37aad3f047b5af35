package runtime

import (
	"context"
	"errors"
	"sync/atomic"
)

// Circuit breakers, as Envoy's cluster thresholds that Istio's
// connectionPool sets: a request over a limit is not queued forever but
// answered 503 with x-envoy-overloaded: true.

// errOverloaded is a circuit-breaker overflow (Envoy's flag UO).
var errOverloaded = errors.New("upstream overflow")

const bodyOverflow = "upstream connect error or disconnect/reset before headers. reset reason: overflow"

// breakers holds a cluster's thresholds and the counts they bound; a zero
// limit is unlimited.
type breakers struct {
	maxRequests, maxPending, maxRetries uint32
	// conns has one token per connection a request may hold when
	// maxConnections is set; nil otherwise.
	conns    chan struct{}
	requests atomic.Int64
	pending  atomic.Int64
	retries  atomic.Int64
}

func newBreakers(p *ClusterPolicy) *breakers {
	b := &breakers{}
	if p == nil {
		return b
	}
	b.maxRequests, b.maxPending, b.maxRetries = p.Pool.MaxRequests, p.Pool.MaxPendingRequests, p.Pool.MaxRetries
	if p.Pool.MaxConnections > 0 {
		b.conns = make(chan struct{}, p.Pool.MaxConnections)
	}
	return b
}

// take counts one more in c unless that passes limit.
func take(c *atomic.Int64, limit uint32) bool {
	if limit == 0 {
		c.Add(1)
		return true
	}
	if c.Add(1) > int64(limit) {
		c.Add(-1)
		return false
	}
	return true
}

// admit reserves a request and a connection for one attempt: over
// maxRequests, or with every connection busy and the pending queue full,
// it fails with errOverloaded. A request waits for a connection as long as
// its context lives. release undoes a successful admit.
func (b *breakers) admit(ctx context.Context) error {
	if !take(&b.requests, b.maxRequests) {
		return errOverloaded
	}
	if b.conns == nil {
		return nil
	}
	select {
	case b.conns <- struct{}{}:
		return nil
	default:
	}
	if !take(&b.pending, b.maxPending) {
		b.requests.Add(-1)
		return errOverloaded
	}
	defer b.pending.Add(-1)
	select {
	case b.conns <- struct{}{}:
		return nil
	case <-ctx.Done():
		b.requests.Add(-1)
		return ctx.Err()
	}
}

func (b *breakers) release() {
	if b.conns != nil {
		<-b.conns
	}
	b.requests.Add(-1)
}

// AllowRetry asks the cluster's retry budget (connectionPool.http.maxRetries)
// for one retry; when it says yes, RetryDone must follow when the retry
// ends. Over the budget Envoy gives up retrying and returns what it has.
func (u *upstream) AllowRetry() bool { return take(&u.cb.retries, u.cb.maxRetries) }

// RetryDone returns a retry taken with AllowRetry.
func (u *upstream) RetryDone() { u.cb.retries.Add(-1) }
