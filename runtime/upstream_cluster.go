package runtime

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
)

// pick chooses the cluster for one request, as pickDest chooses the
// destination: an index into Config.Clusters, or -1 when the route has no
// destination.
func (rt *Route) pick() int {
	if i := rt.pickDest(); i >= 0 {
		return rt.Clusters[i].Cluster
	}
	return -1
}

// endpointSet is an immutable list of upstream addresses with the order in
// which round-robin visits them.
type endpointSet struct {
	// addrs are "ip:port", deduplicated.
	addrs []string
	// order lists indexes into addrs, each as often as its weight asks, in a
	// smooth interleaving; nil when every weight is the same.
	order []uint32
	// weights are the weights of addrs; nil when every weight is the same.
	weights []uint32
}

// index returns the index into addrs for the n-th pick.
func (s *endpointSet) index(n uint32) int {
	if s.order == nil {
		return int(n % uint32(len(s.addrs)))
	}
	return int(s.order[n%uint32(len(s.order))])
}

// size returns how many picks make one full round.
func (s *endpointSet) size() int {
	if s.order == nil {
		return len(s.addrs)
	}
	return len(s.order)
}

// weightedAddr is an address with its load-balancing weight.
type weightedAddr struct {
	addr   string
	weight uint32
}

// maxScheduleLen bounds the weighted round-robin schedule.
const maxScheduleLen = 1024

// newEndpointSet builds a set; a zero weight counts as 1 (ServiceEntry
// endpoints without a weight) and a repeated address keeps its first weight.
func newEndpointSet(in []weightedAddr) *endpointSet {
	s := &endpointSet{}
	var weights []uint64
	seen := make(map[string]bool, len(in))
	for _, a := range in {
		if seen[a.addr] {
			continue
		}
		seen[a.addr] = true
		w := uint64(a.weight)
		if w == 0 {
			w = 1
		}
		s.addrs = append(s.addrs, a.addr)
		weights = append(weights, w)
	}
	s.order = schedule(weights)
	if s.order != nil {
		s.weights = make([]uint32, len(weights))
		for i, w := range weights {
			s.weights[i] = uint32(min(w, 1<<32-1))
		}
	}
	return s
}

// schedule returns a smooth weighted round-robin order over len(weights)
// items, or nil when all weights are equal. Weights are reduced by their
// common divisor and scaled so the order has at most maxScheduleLen slots.
func schedule(weights []uint64) []uint32 {
	if len(weights) < 2 {
		return nil
	}
	g, equal := weights[0], true
	var total uint64
	for _, w := range weights {
		g = gcd(g, w)
		equal = equal && w == weights[0]
		total += w
	}
	if equal {
		return nil
	}
	ws := make([]int64, len(weights))
	total = 0
	for i, w := range weights {
		w /= g
		ws[i] = int64(w)
		total += w
	}
	if total > maxScheduleLen {
		scaled := uint64(0)
		for i, w := range ws {
			ws[i] = max(1, w*int64(maxScheduleLen)/int64(total))
			scaled += uint64(ws[i])
		}
		total = scaled
	}
	order := make([]uint32, 0, total)
	current := make([]int64, len(ws))
	for range total {
		best := 0
		for i := range ws {
			current[i] += ws[i]
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= int64(total)
		order = append(order, uint32(best))
	}
	return order
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// upstream is the run-time state of one Cluster.
type upstream struct {
	cluster *Cluster
	log     *slog.Logger
	// static holds the endpoints of a cluster that does not resolve.
	static *endpointSet
	// dns keeps the endpoints of a cluster that resolves.
	dns *dnsEndpoints
	// disc keeps the endpoints of a discovered cluster.
	disc *discoveredEndpoints
	next atomic.Uint32

	cb      *breakers
	outlier *OutlierDetection
	// mirrorDrops counts the mirror copies to this cluster dropped, by
	// reason (proxy_mirror.go).
	mirrorDrops [mirrorDropReasons]atomic.Uint64
	tls         bool // originate TLS: requests go out as https

	// cur is the view of the current endpoint set.
	cur atomic.Pointer[lbView]
	// hostMu guards hosts and serialises ejections.
	hostMu       sync.Mutex
	hosts        map[string]*hostState
	ejectedCount atomic.Int32
	// gen changes whenever the usable hosts may have: hash tables rebuild.
	gen atomic.Uint64
}

// newUpstream returns the state of cluster c; a resolving cluster resolves
// with r (nil: the system's resolver).
func newUpstream(c *Cluster, stop <-chan struct{}, log *slog.Logger, r *resolver) *upstream {
	u := &upstream{cluster: c, log: log, cb: newBreakers(c.Policy), hosts: map[string]*hostState{}}
	if c.Policy != nil {
		u.outlier = c.Policy.Outlier
		u.tls = c.Policy.TLS != nil
	}
	if u.outlier != nil && u.outlier.Interval > 0 {
		go u.sweepLoop(stop)
	}
	if c.Service != nil {
		u.disc = c.discovered
		if u.disc == nil { // discovery did not start (a test's engine)
			u.disc = &discoveredEndpoints{}
		}
		return u
	}
	if c.Resolve {
		if r == nil {
			r = systemResolver()
		}
		u.dns = newDNSEndpoints(c.Endpoints, stop, r)
		return u
	}
	in := make([]weightedAddr, 0, len(c.Endpoints))
	for _, ep := range c.Endpoints {
		// Prepare checked the address; normalise its spelling.
		ap, err := netip.ParseAddrPort(ep.Address)
		if err != nil {
			continue
		}
		in = append(in, weightedAddr{netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), ep.Weight})
	}
	u.static = newEndpointSet(in)
	return u
}

// endpoints returns the current endpoints; a resolving cluster resolves on
// first use (once, however many requests wait for it).
func (u *upstream) endpoints(ctx context.Context) *endpointSet {
	if u.dns != nil {
		return u.dns.get(ctx)
	}
	if u.disc != nil {
		if s := u.disc.feed.set.Load(); s != nil {
			return s
		}
		return emptyEndpoints
	}
	return u.static
}

// current returns the endpoints without resolving, for admin output.
func (u *upstream) current() []string {
	if u.dns != nil {
		if s := u.dns.set.Load(); s != nil {
			return s.addrs
		}
		return nil
	}
	if u.disc != nil {
		if s := u.disc.feed.set.Load(); s != nil {
			return s.addrs
		}
		return nil
	}
	return u.static.addrs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
