package runtime

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// Circuit-breaker gauges as Envoy names them for the default priority:
// *_open is 1 while a threshold is reached, remaining_* is how much is left
// under it. Istio leaves an unset threshold at 2^32-1 with remaining
// tracked, so an unlimited one reports that minus what is in use. They are
// read from the breakers' counters at scrape time; requests never touch
// them.

var (
	descCxOpen         = cbDesc("cx_open", "1 while the cluster's connection limit is reached.")
	descRqPendingOpen  = cbDesc("rq_pending_open", "1 while the cluster's pending-request limit is reached.")
	descRqOpen         = cbDesc("rq_open", "1 while the cluster's request limit is reached.")
	descRqRetryOpen    = cbDesc("rq_retry_open", "1 while the cluster's retry limit is reached.")
	descRemainingCx    = cbDesc("remaining_cx", "Connections left under the cluster's limit.")
	descRemainingPend  = cbDesc("remaining_pending", "Pending requests left under the cluster's limit.")
	descRemainingRq    = cbDesc("remaining_rq", "Requests left under the cluster's limit.")
	descRemainingRetry = cbDesc("remaining_retries", "Retries left under the cluster's limit.")
	breakerDescs       = []*prometheus.Desc{descCxOpen, descRqPendingOpen, descRqOpen, descRqRetryOpen,
		descRemainingCx, descRemainingPend, descRemainingRq, descRemainingRetry}
)

func cbDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("envoy_cluster_circuit_breakers_default_"+name, help, []string{"cluster_name"}, nil)
}

// collect sends the cluster's circuit-breaker gauges.
func (b *breakers) collect(ch chan<- prometheus.Metric, cluster string) {
	var cxLimit uint32
	var cx int64
	if b.conns != nil {
		cxLimit, cx = uint32(cap(b.conns)), int64(len(b.conns))
	}
	for _, g := range []struct {
		open, remaining *prometheus.Desc
		limit           uint32
		n               int64
	}{
		{descCxOpen, descRemainingCx, cxLimit, cx},
		{descRqPendingOpen, descRemainingPend, b.maxPending, b.pending.Load()},
		{descRqOpen, descRemainingRq, b.maxRequests, b.requests.Load()},
		{descRqRetryOpen, descRemainingRetry, b.maxRetries, b.retries.Load()},
	} {
		limit := int64(g.limit)
		if limit == 0 {
			limit = math.MaxUint32
		}
		open, left := 0.0, float64(max(limit-g.n, 0))
		if g.n >= limit {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(g.open, prometheus.GaugeValue, open, cluster)
		ch <- prometheus.MustNewConstMetric(g.remaining, prometheus.GaugeValue, left, cluster)
	}
}

// healthyCount is how many of the current endpoints outlier detection has
// not ejected.
func (u *upstream) healthyCount(n int) int {
	if v := u.cur.Load(); v != nil {
		for _, h := range v.hosts {
			if h.ejected.Load() {
				n--
			}
		}
	}
	return max(n, 0)
}
