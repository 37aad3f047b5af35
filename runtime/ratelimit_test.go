package runtime

import (
	"testing"
	"time"
)

// TestRateLimitBucket: the bucket starts full (Envoy's max_tokens are the
// initial tokens) and refuses once empty; each RateLimit has its own.
func TestRateLimitBucket(t *testing.T) {
	a := &RateLimit{Requests: 1, Interval: time.Hour, Burst: 3}
	b := &RateLimit{Requests: 1, Interval: time.Hour, Burst: 1}
	for i := range 3 {
		if !a.bucket().Allow() {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	if a.bucket().Allow() {
		t.Error("request past the burst allowed")
	}
	if !b.bucket().Allow() || b.bucket().Allow() {
		t.Error("a second limit shares the first one's bucket, or holds more than its burst")
	}
	for _, bad := range []RateLimit{{Requests: 0, Interval: time.Second, Burst: 1}, {Requests: 1, Interval: 10 * time.Millisecond, Burst: 1}, {Requests: 1, Interval: time.Second}} {
		if bad.check() == nil {
			t.Errorf("%+v passes the check", bad)
		}
	}
}
