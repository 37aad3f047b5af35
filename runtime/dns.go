package runtime

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DNS endpoints, as Envoy's STRICT_DNS clusters: every address a name
// yields is an endpoint; answers are refreshed in the background and the
// last good answer is kept while DNS fails.
const (
	dnsRefresh = 30 * time.Second
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

	// set is what requests use; nil until a lookup has yielded an address.
	set atomic.Pointer[endpointSet]

	mu       sync.Mutex
	inflight chan struct{} // closed when the running first-use lookup ends
	lastTry  time.Time
	last     [][]netip.Addr // last good answer per target
	started  bool           // background refresh running
}

func newDNSEndpoints(eps []Endpoint, stop <-chan struct{}) *dnsEndpoints {
	d := &dnsEndpoints{stop: stop, lookup: net.DefaultResolver.LookupNetIP}
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
			d.refresh()
			d.mu.Lock()
			d.inflight = nil
			start := !d.started
			d.started = true
			d.mu.Unlock()
			close(ch)
			if start {
				go d.refreshLoop()
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

func (d *dnsEndpoints) refreshLoop() {
	t := time.NewTicker(dnsRefresh)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.refresh()
		}
	}
}

// refresh looks every name up once and publishes the union of the last good
// answers.
func (d *dnsEndpoints) refresh() {
	answers := make([][]netip.Addr, len(d.targets))
	for i, t := range d.targets {
		ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
		ips, err := d.lookup(ctx, "ip", t.host)
		cancel()
		if err == nil && len(ips) > 0 {
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
}
