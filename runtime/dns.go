package runtime

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DNS endpoints, as Envoy's STRICT_DNS clusters: every address a name
// yields is an endpoint; answers are refreshed in the background when their
// TTL runs out (within bounds), and the last good answer is kept while DNS
// fails.
const (
	// dnsRefresh is the refresh period of names resolved without a TTL
	// (hosts file, search domains).
	dnsRefresh = 30 * time.Second
	// dnsMinRefresh and dnsMaxRefresh bound a TTL: Envoy's
	// dns_min_refresh_rate and Istio's dnsRefreshRate.
	dnsMinRefresh = 5 * time.Second
	dnsMaxRefresh = 60 * time.Second
	// dnsFailureRefresh is the next try after a lookup failed.
	dnsFailureRefresh = 5 * time.Second
	// dnsTimeout bounds one lookup, so a hung resolver cannot stall a
	// refresh or a first request for long.
	dnsTimeout = 10 * time.Second
	// dnsRetryGap spaces first-use attempts while a name keeps failing, so
	// traffic to an unresolvable name does not become a DNS flood.
	dnsRetryGap = time.Second
)

type dnsTarget struct {
	host   string
	port   uint16
	weight uint32
}

type dnsEndpoints struct {
	targets []dnsTarget
	stop    <-chan struct{}
	// lookup is net.DefaultResolver.LookupNetIP; tests may replace it.
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// ttlLookup resolves with the records' TTL, or fails with errNoTTL to
	// leave the name to lookup; nil leaves every name to lookup.
	ttlLookup func(ctx context.Context, host string) ([]netip.Addr, time.Duration, error)
	// minRefresh and maxRefresh bound the TTL; failRefresh follows a
	// failure.
	minRefresh, maxRefresh, failRefresh time.Duration

	// set is what requests use; nil until a lookup has yielded an address.
	set atomic.Pointer[endpointSet]

	mu       sync.Mutex
	inflight chan struct{} // closed when the running first-use lookup ends
	lastTry  time.Time
	last     [][]netip.Addr // last good answer per target
	started  bool           // background refresh running
}

func newDNSEndpoints(eps []Endpoint, stop <-chan struct{}) *dnsEndpoints {
	d := &dnsEndpoints{stop: stop, lookup: net.DefaultResolver.LookupNetIP, ttlLookup: systemTTLResolver().lookup,
		minRefresh: dnsMinRefresh, maxRefresh: dnsMaxRefresh, failRefresh: dnsFailureRefresh}
	for _, ep := range eps {
		host, port, err := net.SplitHostPort(ep.Address)
		if err != nil {
			continue // Prepare reported it
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			continue
		}
		d.targets = append(d.targets, dnsTarget{host, uint16(p), ep.Weight})
	}
	d.last = make([][]netip.Addr, len(d.targets))
	return d
}

// get returns the endpoints, resolving synchronously on first use. Requests
// that arrive while that lookup runs wait for it instead of starting their
// own. It returns an empty set when nothing has resolved yet.
func (d *dnsEndpoints) get(ctx context.Context) *endpointSet {
	if s := d.set.Load(); s != nil {
		return s
	}
	d.mu.Lock()
	if s := d.set.Load(); s != nil {
		d.mu.Unlock()
		return s
	}
	ch := d.inflight
	if ch == nil {
		if !d.lastTry.IsZero() && time.Since(d.lastTry) < dnsRetryGap {
			d.mu.Unlock()
			return emptyEndpoints
		}
		d.lastTry = time.Now()
		ch = make(chan struct{})
		d.inflight = ch
		go func() {
			next := d.refresh()
			d.mu.Lock()
			d.inflight = nil
			start := !d.started
			d.started = true
			d.mu.Unlock()
			close(ch)
			if start {
				go d.refreshLoop(next)
			}
		}()
	}
	d.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	case <-d.stop:
	}
	if s := d.set.Load(); s != nil {
		return s
	}
	return emptyEndpoints
}

var emptyEndpoints = &endpointSet{}

func (d *dnsEndpoints) refreshLoop(first time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			t.Reset(d.refresh())
		}
	}
}

// refresh looks every name up once, publishes the union of the last good
// answers, and returns when to refresh next: when the first TTL runs out,
// within bounds; sooner after a failure.
func (d *dnsEndpoints) refresh() time.Duration {
	answers := make([][]netip.Addr, len(d.targets))
	next := d.maxRefresh
	for i, t := range d.targets {
		ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
		ips, ttl, err := d.resolve(ctx, t.host)
		cancel()
		switch {
		case err != nil || len(ips) == 0:
			next = min(next, d.failRefresh)
		case ttl >= 0:
			next = min(next, max(d.minRefresh, min(ttl, d.maxRefresh)))
			answers[i] = ips
		default:
			next = min(next, dnsRefresh)
			answers[i] = ips
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var addrs []weightedAddr
	for i, t := range d.targets {
		if answers[i] != nil {
			d.last[i] = answers[i]
		}
		for _, ip := range d.last[i] {
			ap := netip.AddrPortFrom(ip.Unmap(), t.port)
			addrs = append(addrs, weightedAddr{ap.String(), t.weight})
		}
	}
	if len(addrs) > 0 {
		d.set.Store(newEndpointSet(addrs))
	}
	return next
}

// resolve looks host up with its TTL when it can; a negative TTL means the
// answer came without one.
func (d *dnsEndpoints) resolve(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, -1, nil
	}
	if d.ttlLookup != nil {
		ips, ttl, err := d.ttlLookup(ctx, host)
		if !errors.Is(err, errNoTTL) {
			return ips, ttl, err
		}
	}
	ips, err := d.lookup(ctx, "ip", host)
	return ips, -1, err
}
