package runtime

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// hostState is the run-time state of one endpoint address. It outlives DNS
// refreshes that keep the address, so that request counts and ejections
// carry over.
type hostState struct {
	addr string
	// active counts the requests in flight, for LEAST_REQUEST.
	active atomic.Int32
	// ejected is set while outlier detection keeps the host out.
	ejected atomic.Bool

	mu          sync.Mutex // guards the outlier counters below
	consec5xx   uint32
	consecGw    uint32
	consecLocal uint32
	ejectedAt   time.Time
	ejections   uint32
}

// lbView pairs an endpoint set with the state of its hosts and, for the
// consistent-hash balancers, the table built over the hosts that are not
// ejected.
type lbView struct {
	set   *endpointSet
	hosts []*hostState

	mu         sync.Mutex
	table      hashTable
	tableGen   uint64
	tablePanic bool
}

// view returns the lbView of s, building it when s is new (first use, or a
// DNS answer that changed).
func (u *upstream) view(s *endpointSet) *lbView {
	if v := u.cur.Load(); v != nil && v.set == s {
		return v
	}
	u.hostMu.Lock()
	defer u.hostMu.Unlock()
	if v := u.cur.Load(); v != nil && v.set == s {
		return v
	}
	v := &lbView{set: s, hosts: make([]*hostState, len(s.addrs))}
	kept := make(map[string]*hostState, len(s.addrs))
	ejected := int32(0)
	for i, a := range s.addrs {
		h := u.hosts[a]
		if h == nil {
			h = &hostState{addr: a}
		}
		if h.ejected.Load() {
			ejected++
		}
		kept[a] = h
		v.hosts[i] = h
	}
	u.hosts = kept
	u.ejectedCount.Store(ejected)
	u.gen.Add(1)
	u.cur.Store(v)
	return v
}

// panicking reports whether ejections are to be ignored: always without
// outlier detection, and, as Envoy's panic threshold (Istio's
// minHealthPercent), when too few hosts are healthy.
func (u *upstream) panicking(v *lbView) bool {
	od := u.outlier
	if od == nil {
		return true
	}
	n := len(v.hosts)
	healthy := n - int(u.ejectedCount.Load())
	return healthy*100 < int(od.MinHealthPercent)*n
}

// pick chooses the endpoint for one attempt and returns its index in v, or
// -1 when no endpoint may take the request. Endpoints in tried are avoided
// while another one is left (Envoy's previous_hosts retry predicate),
// except by consistent hash, which Istio leaves without it.
func (u *upstream) pick(v *lbView, tried []string, key hashKey) int {
	n := len(v.hosts)
	if n == 0 {
		return -1
	}
	all := u.panicking(v)
	usable := func(i int) bool { return all || !v.hosts[i].ejected.Load() }
	lb := u.lb()
	if lb == LBRingHash || lb == LBMaglev {
		if key.ok {
			return u.hashTableOf(v, all, lb).lookup(key.h)
		}
		lb = LBRandom // no hash key: Envoy picks at random
	}
	if lb == LBRoundRobin {
		first := -1
		for range v.set.size() {
			i := v.set.index(u.next.Add(1) - 1)
			if !usable(i) {
				continue
			}
			if !contains(tried, v.set.addrs[i]) {
				return i
			}
			if first < 0 {
				first = i
			}
		}
		return first
	}
	var buf [16]int
	cands := buf[:0]
	for i := range n {
		if usable(i) && !contains(tried, v.set.addrs[i]) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		for i := range n {
			if usable(i) {
				cands = append(cands, i)
			}
		}
	}
	switch len(cands) {
	case 0:
		return -1
	case 1:
		return cands[0]
	}
	a := v.set.weightedDraw(cands)
	if lb == LBRandom {
		return a
	}
	// LEAST_REQUEST: the power of two choices, comparing requests in
	// flight per unit of weight.
	b := v.set.weightedDraw(cands)
	wa, wb := int64(v.set.weight(a)), int64(v.set.weight(b))
	if int64(v.hosts[b].active.Load())*wa < int64(v.hosts[a].active.Load())*wb {
		return b
	}
	return a
}

func (u *upstream) lb() LBKind {
	if u.cluster.Policy == nil {
		return LBLeastRequest
	}
	return u.cluster.Policy.LB
}

// weight returns the weight of endpoint i (at least 1).
func (s *endpointSet) weight(i int) uint32 {
	if s.weights == nil {
		return 1
	}
	return s.weights[i]
}

// weightedDraw picks one of cands at random in proportion to its weight.
func (s *endpointSet) weightedDraw(cands []int) int {
	if s.weights == nil {
		return cands[rand.IntN(len(cands))]
	}
	var total uint64
	for _, i := range cands {
		total += uint64(s.weights[i])
	}
	x := rand.Uint64N(total)
	for _, i := range cands {
		w := uint64(s.weights[i])
		if x < w {
			return i
		}
		x -= w
	}
	return cands[len(cands)-1]
}

// hashTableOf returns the ring or maglev table over the usable hosts,
// rebuilding it when an ejection changed them.
func (u *upstream) hashTableOf(v *lbView, all bool, lb LBKind) hashTable {
	gen := u.gen.Load()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.table != nil && v.tableGen == gen && v.tablePanic == all {
		return v.table
	}
	var members []int
	for i, h := range v.hosts {
		if all || !h.ejected.Load() {
			members = append(members, i)
		}
	}
	var size uint64
	if u.cluster.Policy != nil {
		size = u.cluster.Policy.TableSize
	}
	if lb == LBMaglev {
		v.table = newMaglev(v.set, members, size)
	} else {
		v.table = newRing(v.set, members, size)
	}
	v.tableGen, v.tablePanic = gen, all
	return v.table
}

// pickAddr chooses the endpoint for a connection that carries no HTTP
// request (TCP and TLS routes): the cluster's load balancer without a hash
// key, avoiding tried while another endpoint is left. "" means none.
func (u *upstream) pickAddr(set *endpointSet, tried []string) string {
	v := u.view(set)
	i := u.pick(v, tried, hashKey{})
	if i < 0 {
		return ""
	}
	return v.hosts[i].addr
}
