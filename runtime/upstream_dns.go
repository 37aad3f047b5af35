package runtime

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gwc-dev/gwc/runtime/internal/dns"
)

// DNS endpoints, as Envoy's STRICT_DNS clusters: every address a name
// yields is an endpoint; answers are refreshed in the background when their
// TTL runs out (within bounds), and the last good answer is kept while DNS
// fails. The TTL comes from runtime/internal/dns, a stub resolver asking
// resolv.conf's servers; what it leaves (names of the hosts file, names no
// server knows) the Go resolver answers, with a fixed refresh.
const (
	// dnsRefresh is the refresh period of names resolved without a TTL
	// (the hosts file, names the Go resolver found when DNS did not).
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

// resolver is how DNS endpoints resolve names.
type resolver struct {
	// ttl resolves with the records' TTL, or fails with dns.ErrNotAsked
	// or dns.ErrNotFound to leave the name to lookup; nil leaves every
	// name to lookup.
	ttl func(ctx context.Context, host string) ([]netip.Addr, time.Duration, error)
	// lookup is the Go resolver's LookupNetIP.
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

const (
	resolvConf = "/etc/resolv.conf"
	hostsFile  = "/etc/hosts"
)

// systemResolver asks the servers of /etc/resolv.conf, read once.
var systemResolver = sync.OnceValue(func() *resolver {
	return &resolver{ttl: dns.NewClient(dns.ReadConfig(resolvConf), hostsFile).Lookup, lookup: net.DefaultResolver.LookupNetIP}
})

// newResolver returns the system resolver, or with servers (--dns-server)
// one that asks them instead of resolv.conf's nameservers, search and
// ndots still resolv.conf's. The Go resolver it falls back on asks the
// first of them.
func newResolver(servers []netip.AddrPort) *resolver {
	if len(servers) == 0 {
		return systemResolver()
	}
	cfg := dns.ReadConfig(resolvConf)
	cfg.Servers = servers
	var d net.Dialer
	goResolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, servers[0].String())
	}}
	return &resolver{ttl: dns.NewClient(cfg, hostsFile).Lookup, lookup: goResolver.LookupNetIP}
}

type dnsEndpoints struct {
	targets []dnsTarget
	stop    <-chan struct{}
	// lookup and ttlLookup are the resolver's; tests may replace them.
	lookup    func(ctx context.Context, network, host string) ([]netip.Addr, error)
	ttlLookup func(ctx context.Context, host string) ([]netip.Addr, time.Duration, error)
	// endpointFeed holds the set requests use (nil until a lookup has
	// yielded an address) and is told the addresses a refresh dropped.
	endpointFeed
	// minRefresh and maxRefresh bound the TTL; failRefresh follows a
	// failure.
	minRefresh, maxRefresh, failRefresh time.Duration

	mu       sync.Mutex
	inflight chan struct{} // closed when the running first-use lookup ends
	lastTry  time.Time
	last     [][]netip.Addr // last good answer per target
	started  bool           // background refresh running
}

func newDNSEndpoints(eps []Endpoint, stop <-chan struct{}, r *resolver) *dnsEndpoints {
	d := &dnsEndpoints{stop: stop, lookup: r.lookup, ttlLookup: r.ttl,
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
	var gone []string
	if len(addrs) > 0 {
		gone = d.swap(newEndpointSet(addrs))
	}
	d.mu.Unlock()
	d.retire(gone)
	return next
}

// resolve looks host up with its TTL when it can; a negative TTL means the
// answer came without one. A name the TTL client leaves, or that no DNS
// server knows (NXDOMAIN), goes to the Go resolver, which also reads the
// hosts file and the system's other sources; a failing server does not,
// so the last good answer stays.
func (d *dnsEndpoints) resolve(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, -1, nil
	}
	if d.ttlLookup != nil {
		ips, ttl, err := d.ttlLookup(ctx, host)
		if !errors.Is(err, dns.ErrNotAsked) && !errors.Is(err, dns.ErrNotFound) {
			return ips, ttl, err
		}
	}
	ips, err := d.lookup(ctx, "ip", host)
	return ips, -1, err
}
