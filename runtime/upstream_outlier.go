package runtime

import (
	"time"
)

// Outlier detection, as Envoy's: consecutive 5xx (or gateway errors:
// 502, 503, 504, and failures to connect or read a response) eject a host
// at once for baseEjectionTime times the number of times it was ejected;
// every interval, hosts whose time is up come back and hosts that stayed
// healthy have that number lowered.

// maxEjectionTime is Envoy's default cap on one ejection.
const maxEjectionTime = 300 * time.Second

// report records the result of one attempt on h: the response status, or 0
// for a locally originated failure (connect error, reset, timeout), which
// Envoy counts as a gateway error unless splitExternalLocalOriginErrors
// counts them apart.
func (u *upstream) report(v *lbView, h *hostState, status int) {
	od := u.outlier
	if od == nil {
		return
	}
	h.mu.Lock()
	var trip bool
	switch {
	case status == 0 && od.SplitLocalOrigin:
		// Counted apart: the upstream never answered.
		h.consecLocal++
		trip = od.ConsecutiveLocalOrigin > 0 && h.consecLocal >= od.ConsecutiveLocalOrigin
	case status == 0 || status == 502 || status == 503 || status == 504:
		h.consecLocal = 0
		h.consec5xx++
		h.consecGw++
	case status >= 500:
		h.consecLocal = 0
		h.consec5xx++
		h.consecGw = 0
	default:
		h.consec5xx, h.consecGw, h.consecLocal = 0, 0, 0
	}
	trip = trip || od.Consecutive5xx > 0 && h.consec5xx >= od.Consecutive5xx ||
		od.ConsecutiveGateway > 0 && h.consecGw >= od.ConsecutiveGateway
	if trip {
		h.consec5xx, h.consecGw, h.consecLocal = 0, 0, 0
	}
	h.mu.Unlock()
	if trip {
		u.eject(v, h)
	}
}

// eject takes h out of rotation unless that would pass maxEjectionPercent.
func (u *upstream) eject(v *lbView, h *hostState) {
	u.hostMu.Lock()
	defer u.hostMu.Unlock()
	if h.ejected.Load() || u.cur.Load() != v {
		return
	}
	// As Envoy: within maxEjectionPercent, but one host can always be
	// ejected.
	n, ejected := int64(len(v.hosts)), int64(u.ejectedCount.Load())
	if ejected > 0 && (ejected+1)*100 > int64(u.outlier.MaxEjectionPercent)*n {
		return
	}
	h.mu.Lock()
	h.ejections++
	h.ejectedAt = time.Now()
	h.mu.Unlock()
	h.ejected.Store(true)
	u.ejectedCount.Add(1)
	u.gen.Add(1)
	u.log.Info("outlier ejected", "cluster", u.cluster.Name, "endpoint", h.addr, "ejections", h.ejections)
}

// sweepLoop runs the outlier detection interval until stop closes.
func (u *upstream) sweepLoop(stop <-chan struct{}) {
	t := time.NewTicker(u.outlier.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			u.sweep(now)
		}
	}
}

func (u *upstream) sweep(now time.Time) {
	v := u.cur.Load()
	if v == nil {
		return
	}
	u.hostMu.Lock()
	defer u.hostMu.Unlock()
	if u.cur.Load() != v {
		return
	}
	for _, h := range v.hosts {
		h.mu.Lock()
		if h.ejected.Load() {
			d := min(u.outlier.BaseEjectionTime*time.Duration(h.ejections), max(maxEjectionTime, u.outlier.BaseEjectionTime))
			if !now.Before(h.ejectedAt.Add(d)) {
				h.ejected.Store(false)
				u.ejectedCount.Add(-1)
				u.gen.Add(1)
				u.log.Info("outlier returned", "cluster", u.cluster.Name, "endpoint", h.addr)
			}
		} else if h.ejections > 0 && now.Sub(h.ejectedAt) > 2*u.outlier.BaseEjectionTime*time.Duration(h.ejections) {
			// Back and healthy for as long as it was out: the next
			// ejection is shorter again.
			h.ejections--
		}
		h.mu.Unlock()
	}
}

// ejectedAddrs lists the endpoints ejected now, for the admin page.
func (u *upstream) ejectedAddrs() []string {
	v := u.cur.Load()
	if v == nil {
		return nil
	}
	var out []string
	for _, h := range v.hosts {
		if h.ejected.Load() {
			out = append(out, h.addr)
		}
	}
	return out
}
