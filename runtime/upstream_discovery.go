package runtime

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// endpointFeed is the endpoint set of a cluster whose endpoints change at
// run time, and the one way they change: a new immutable set is swapped in
// whole, so a request sees the old set or the new one, never a mix. Two
// sources feed it: DNS answers (upstream_dns.go) and endpoint discovery
// (Discovery below). The load balancer notices the new set on the next
// pick (upstream_lb.go view) and carries every kept address's state over:
// requests in flight, outlier ejections; hash tables are rebuilt over the
// new hosts, as Envoy rebuilds them on an EDS update. Addresses that are
// gone have their pooled connections retired: idle ones closed, busy ones
// closed when their response ends.
type endpointFeed struct {
	// set is what requests use; nil until the source has yielded a set.
	set atomic.Pointer[endpointSet]
	// gone, when set, is told the addresses a swap dropped, so that their
	// upstream connections are retired (closeIdleTo).
	gone func(addrs []string)
}

// swap publishes s and returns the addresses of the previous set that s
// no longer has.
func (f *endpointFeed) swap(s *endpointSet) (gone []string) {
	old := f.set.Swap(s)
	if old == nil {
		return nil
	}
	for _, a := range old.addrs {
		if !slices.Contains(s.addrs, a) {
			gone = append(gone, a)
		}
	}
	return gone
}

// retire tells gone about the dropped addresses.
func (f *endpointFeed) retire(gone []string) {
	if len(gone) > 0 && f.gone != nil {
		f.gone(gone)
	}
}

// Discovery learns the endpoints of clusters that name a Service
// (Cluster.Service) at run time. Package runtime/kubernetes implements it
// with the Kubernetes API's EndpointSlices; generated code sets
// Config.Discovery only in a binary built with `gwc build --endpoints
// kubernetes`, so other binaries link no Kubernetes client.
type Discovery interface {
	// RegisterFlags adds the discovery's command-line flags.
	RegisterFlags(fs *flag.FlagSet)
	// Start begins watching the targets' services and returns at once; an
	// error (a configuration that cannot work, such as a kubeconfig that
	// does not parse) stops the ingress from starting. Each target's
	// Update is called with every new endpoint set of its service until
	// Stop.
	Start(log *slog.Logger, targets []DiscoveryTarget) error
	// WaitSynced blocks until the first full list of every watched
	// resource is known, or until the bound its flags set, or ctx is done;
	// it reports whether everything synced.
	WaitSynced(ctx context.Context) bool
	// Watches calls f for each watched resource (namespace, resource) with
	// whether its watch is up and how many list or watch calls failed.
	Watches(f func(namespace, resource string, up bool, failures uint64))
	// Stop stops watching.
	Stop()
}

// ServiceRef names the Service whose endpoints a cluster takes, and the
// subset of them it takes.
type ServiceRef struct {
	Namespace, Name string
	// Port is the Service port the destination names.
	Port int
	// Labels are the subset's "key=value" labels, sorted; the cluster takes
	// the endpoints whose pods have all of them. None: every endpoint.
	Labels []string
}

// DiscoveryTarget is one cluster whose endpoints discovery provides.
type DiscoveryTarget struct {
	Cluster string
	Service ServiceRef
	// Update replaces the cluster's endpoints. Calls for one target do not
	// overlap.
	Update func(EndpointUpdate)
}

// EndpointUpdate is the whole current endpoint set of one target.
type EndpointUpdate struct {
	// Addrs are the endpoints' "ip:port", the ones that may take traffic.
	Addrs []string
	// NoService says the service has no endpoint objects at all: Envoy
	// would have no cluster (503 NC), not an empty one (503 UH).
	NoService bool
	// HTTP2 says the port's protocol is HTTP/2 (appProtocol
	// kubernetes.io/h2c or grpc, or an Istio port-name prefix grpc or
	// http2).
	HTTP2 bool
}

// discoveredEndpoints is the endpoint feed of a discovered cluster.
type discoveredEndpoints struct {
	feed      endpointFeed
	noService atomic.Bool
	http2     atomic.Bool
	// closer is the feed's gone, set once the engine's transports exist;
	// updates may run before that.
	closer atomic.Pointer[func([]string)]
}

func (d *discoveredEndpoints) update(u EndpointUpdate) {
	in := make([]weightedAddr, len(u.Addrs))
	for i, a := range u.Addrs {
		in[i] = weightedAddr{addr: a}
	}
	d.noService.Store(u.NoService)
	d.http2.Store(u.HTTP2)
	gone := d.feed.swap(newEndpointSet(in))
	if c := d.closer.Load(); c != nil && len(gone) > 0 {
		(*c)(gone)
	}
}

// protocolSwitch is the transport of a discovered cluster: HTTP/1.1 or
// cleartext HTTP/2, as the port's protocol is now (appProtocol or the
// port name), so that a change applies to the next request, as istiod
// pushes a changed cluster to Envoy. Connections of the protocol left
// stay pooled until they idle out.
type protocolSwitch struct {
	h1, h2 http.RoundTripper
	http2  *atomic.Bool
}

func (s *protocolSwitch) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.http2.Load() {
		return s.h2.RoundTrip(r)
	}
	return s.h1.RoundTrip(r)
}

func (s *protocolSwitch) CloseIdleConnections() {
	for _, t := range []http.RoundTripper{s.h1, s.h2} {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// errClusterNotFound answers a request to a discovered service that does
// not exist: Envoy's 503 with response flag NC.
var errClusterNotFound = errors.New("cluster not found")

// noEndpoints is the error for a request that finds no endpoint.
func (u *upstream) noEndpoints() error {
	if u.disc != nil && u.disc.noService.Load() {
		return errClusterNotFound
	}
	return errNoHealthyUpstream
}

// defaultSyncTimeout is how long a start waits for discovery's first sync
// when the discovery's flags set no bound.
const defaultSyncTimeout = time.Minute

// startDiscovery starts cfg's discovery, before the engine exists, and
// waits for its first sync: /healthz/ready answers 503 until the endpoints
// are known or the bound passes. It returns nil without discovery.
func startDiscovery(ctx context.Context, cfg *Config, log *slog.Logger) error {
	if cfg.Discovery == nil {
		return nil
	}
	var targets []DiscoveryTarget
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		if c.Service == nil {
			continue
		}
		d := &discoveredEndpoints{}
		c.discovered = d
		targets = append(targets, DiscoveryTarget{Cluster: c.Name, Service: *c.Service, Update: d.update})
	}
	if err := cfg.Discovery.Start(log, targets); err != nil {
		return err
	}
	start := time.Now()
	if cfg.Discovery.WaitSynced(ctx) {
		log.Info("endpoint discovery synced", "took", time.Since(start).Round(time.Millisecond).String())
	} else if ctx.Err() == nil {
		log.Warn("endpoint discovery not synced at the bound: serving with the endpoints known so far; the watches keep trying",
			"waited", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}

// attachDiscovery lets discovered clusters retire the connections of the
// endpoints they drop, through their cluster's transport.
func (e *engine) attachDiscovery() {
	for i, up := range e.ups {
		if up.disc == nil {
			continue
		}
		t := e.transports[i]
		f := func(addrs []string) { closeIdleTo(t, addrs) }
		up.disc.closer.Store(&f)
	}
}

var (
	watchUpDesc = prometheus.NewDesc("gwc_endpoint_watch_up",
		"1 while the endpoint discovery's watch of the resource in the namespace works, 0 while the API server cannot be reached or refuses it (the last known endpoints keep serving).",
		[]string{"namespace", "resource"}, nil)
	watchFailuresDesc = prometheus.NewDesc("gwc_endpoint_watch_failures_total",
		"List or watch calls of the endpoint discovery that failed, by namespace and resource.",
		[]string{"namespace", "resource"}, nil)
)

// discoveryCollector exports Discovery.Watches, read at each scrape.
type discoveryCollector struct{ d Discovery }

func (c discoveryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- watchUpDesc
	ch <- watchFailuresDesc
}

func (c discoveryCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.Watches(func(ns, res string, up bool, failures uint64) {
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(watchUpDesc, prometheus.GaugeValue, v, ns, res)
		ch <- prometheus.MustNewConstMetric(watchFailuresDesc, prometheus.CounterValue, float64(failures), ns, res)
	})
}

// registerDiscoveryMetrics adds the watch metrics when cfg discovers
// endpoints.
func registerDiscoveryMetrics(reg *prometheus.Registry, cfg *Config) {
	if cfg.Discovery != nil {
		reg.MustRegister(discoveryCollector{cfg.Discovery})
	}
}
