package runtime

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
)

// newStatusServer serves Istio's status port: readiness for the kubelet and
// load balancers.
func newStatusServer(g *gateway) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/ready", g.serveReady)
	g.addMetricsRoutes(mux)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// newAdminServer serves the admin endpoints, Envoy's admin port in spirit:
// what the binary was built with and what it currently routes to.
func newAdminServer(g *gateway) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/ready", g.serveReady)
	mux.HandleFunc("GET /config_dump", g.afterStart(g.serveConfigDump))
	mux.HandleFunc("GET /clusters", g.afterStart(g.serveClusters))
	g.addAdminRoutes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "/config_dump  the compiled configuration, routes with their origin\n"+
			"/clusters     each cluster with its current endpoints\n"+
			"/healthz/ready  200 when serving, 503 while starting or draining\n"+adminIndexExtra)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

func (g *gateway) serveReady(w http.ResponseWriter, _ *http.Request) {
	if g.state.Load() == stateReady {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

// afterStart answers 503 until the gateway has started: before endpoint
// discovery's first sync the clusters' endpoints and protocols are not
// settled.
func (g *gateway) afterStart(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.started.Load() {
			http.Error(w, "starting: waiting for endpoint discovery's first sync", http.StatusServiceUnavailable)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encoding JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// The JSON shapes of the admin output. They mirror Config but name
// clusters instead of indexing them and leave out the host tables' internals.
type (
	dumpConfig struct {
		Digest    string         `json:"digest,omitempty"`
		Sources   []string       `json:"sources,omitempty"`
		Listeners []dumpListener `json:"listeners"`
		Clusters  []dumpCluster  `json:"clusters"`
	}
	dumpListener struct {
		Port         int               `json:"port"`
		Bind         string            `json:"bind,omitempty"`
		Address      string            `json:"address,omitempty"`
		Protocol     string            `json:"protocol"`
		VirtualHosts []dumpVirtualHost `json:"virtualHosts"`
		// TLS and L4 are described by tlsdump.go.
		TLS []dumpServerTLS `json:"tls,omitempty"`
		L4  []dumpL4Route   `json:"l4,omitempty"`
	}
	dumpVirtualHost struct {
		Domain string      `json:"domain"`
		Routes []dumpRoute `json:"routes"`
		// RequireTLS: plaintext requests get a 301 to https.
		RequireTLS bool  `json:"requireTls,omitempty"`
		TLSServers []int `json:"tlsServers,omitempty"`
	}
	// dumpRoute is the route's description, as gwc routes prints it (every
	// match condition and every action, in words), with its destinations
	// also as data.
	dumpRoute struct {
		RouteDescription
		Clusters []dumpWeighted `json:"clusters"`
	}
	dumpWeighted struct {
		Cluster string `json:"cluster"`
		Weight  uint32 `json:"weight"`
	}
	dumpCluster struct {
		Name      string         `json:"name"`
		Resolve   bool           `json:"resolve,omitempty"`
		HTTP2     bool           `json:"http2,omitempty"`
		Endpoints []dumpEndpoint `json:"endpoints"`
		// Policy describes the DestinationRule traffic policy, if any.
		Policy []string `json:"policy,omitempty"`
	}
	dumpEndpoint struct {
		Address string `json:"address"`
		Weight  uint32 `json:"weight,omitempty"`
	}
	dumpClusterState struct {
		Name string `json:"name"`
		// Endpoints are the addresses requests go to now: the configured
		// ones, or for a resolving cluster the last DNS answers.
		Endpoints []string `json:"endpoints"`
		// Resolved is false for a resolving cluster no request has used yet.
		Resolved bool `json:"resolved"`
		// Ejected are the endpoints outlier detection keeps out now.
		Ejected []string `json:"ejected,omitempty"`
	}
)

func (g *gateway) serveConfigDump(w http.ResponseWriter, _ *http.Request) {
	addrs := make([]string, len(g.listeners))
	for i, ln := range g.listeners {
		addrs[i] = ln.Addr().String()
	}
	writeJSON(w, dumpOf(g.cfg, addrs))
}

// dumpOf describes cfg; addrs are the listeners' bound addresses, if known.
func dumpOf(cfg *Config, addrs []string) dumpConfig {
	// Preparing may rewrite a route (lower-cased names): done first, so the
	// dump reads no host a request is preparing. A host that fails is
	// still dumped as written; its requests get 500.
	_ = cfg.prepareAll()
	d := dumpConfig{Digest: cfg.Digest, Sources: cfg.Sources, Listeners: []dumpListener{}, Clusters: []dumpCluster{}}
	clusterName := func(i int) string {
		if i >= 0 && i < len(cfg.Clusters) {
			return cfg.Clusters[i].Name
		}
		return ""
	}
	for li, l := range cfg.Listeners {
		dl := dumpListener{Port: l.Port, Bind: l.Bind, Protocol: l.Protocol, VirtualHosts: []dumpVirtualHost{}}
		if li < len(addrs) {
			dl.Address = addrs[li]
		}
		for _, vh := range l.VirtualHosts {
			dv := dumpVirtualHost{Domain: vh.Domain, Routes: []dumpRoute{}, RequireTLS: vh.RequireTLS, TLSServers: vh.TLSServers}
			for ri := range vh.Routes {
				r := &vh.Routes[ri]
				dr := dumpRoute{RouteDescription: cfg.DescribeRoute(r), Clusters: []dumpWeighted{}}
				for _, wc := range r.Clusters {
					dr.Clusters = append(dr.Clusters, dumpWeighted{clusterName(wc.Cluster), wc.Weight})
				}
				dv.Routes = append(dv.Routes, dr)
			}
			dl.VirtualHosts = append(dl.VirtualHosts, dv)
		}
		dl.TLS, dl.L4 = dumpTLSOf(&l, clusterName), dumpL4Of(&l, clusterName)
		d.Listeners = append(d.Listeners, dl)
	}
	for _, c := range cfg.Clusters {
		dc := dumpCluster{Name: c.Name, Resolve: c.Resolve, HTTP2: c.HTTP2, Endpoints: []dumpEndpoint{}, Policy: c.Policy.describe()}
		if c.discovered != nil {
			dc.HTTP2 = c.discovered.http2.Load() // as the port is now
		}
		for _, ep := range c.Endpoints {
			dc.Endpoints = append(dc.Endpoints, dumpEndpoint(ep))
		}
		d.Clusters = append(d.Clusters, dc)
	}
	return d
}

func (g *gateway) serveClusters(w http.ResponseWriter, _ *http.Request) {
	out := []dumpClusterState{}
	for _, up := range g.engine.ups {
		eps := up.current()
		resolved := (up.dns == nil || up.dns.set.Load() != nil) && (up.disc == nil || up.disc.feed.set.Load() != nil)
		out = append(out, dumpClusterState{Name: up.cluster.Name, Endpoints: append([]string{}, eps...), Resolved: resolved,
			Ejected: up.ejectedAddrs()})
	}
	writeJSON(w, map[string]any{"clusters": out})
}

// addMetricsRoutes serves the Prometheus exposition at Istio's scrape path.
func (g *gateway) addMetricsRoutes(mux *http.ServeMux) {
	if g.obs == nil {
		return
	}
	mux.Handle("GET /stats/prometheus", g.obs.metrics.handler())
}

// addAdminRoutes serves the admin endpoints beyond the foundation's:
// /routes, /stats, /stats/prometheus, /server_info and, with --admin-pprof,
// Go's profiler.
func (g *gateway) addAdminRoutes(mux *http.ServeMux) {
	g.addMetricsRoutes(mux)
	mux.HandleFunc("GET /routes", g.afterStart(g.serveRoutes))
	mux.HandleFunc("GET /stats", g.serveStats)
	mux.HandleFunc("GET /server_info", g.serveServerInfo)
	if g.opts.obs.pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

// adminIndexExtra lists the endpoints addAdminRoutes adds, for the index.
const adminIndexExtra = "/routes       every listener's virtual hosts and routes, in match order\n" +
	"/stats        every metric, one sample a line\n" +
	"/stats/prometheus  the same in Prometheus exposition format\n" +
	"/server_info  version, build digest, state, uptime\n"

// serveRoutes writes the route tables: the config dump without clusters.
func (g *gateway) serveRoutes(w http.ResponseWriter, _ *http.Request) {
	addrs := make([]string, len(g.listeners))
	for i, ln := range g.listeners {
		addrs[i] = ln.Addr().String()
	}
	d := dumpOf(g.cfg, addrs)
	writeJSON(w, map[string]any{"listeners": d.Listeners})
}

// serveStats writes every sample as "name{labels} value", sorted, as
// Envoy's /stats does for its own counters.
func (g *gateway) serveStats(w http.ResponseWriter, _ *http.Request) {
	if g.obs == nil {
		http.Error(w, "metrics are off", http.StatusNotFound)
		return
	}
	mfs, err := g.obs.metrics.reg.Gather()
	if err != nil {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var lines []string
	var buf bytes.Buffer
	for _, mf := range mfs {
		buf.Reset()
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			continue
		}
		for l := range strings.SplitSeq(buf.String(), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, strings.Join(lines, "\n")+"\n")
}

var startTime = time.Now()

func (g *gateway) serveServerInfo(w http.ResponseWriter, _ *http.Request) {
	state := map[int32]string{stateStarting: "PRE_INITIALIZING", stateReady: "LIVE", stateDraining: "DRAINING"}[g.state.Load()]
	info := map[string]any{
		"state":          state,
		"uptime_seconds": int64(time.Since(startTime).Seconds()),
		"digest":         g.cfg.Digest,
		"sources":        g.cfg.Sources,
		"go_version":     runtime.Version(),
		"gwc_runtime":    runtimeVersion(),
	}
	if g.handover != nil {
		// What a successor started with --takeover needs to know.
		info["handover"] = map[string]any{"socket": g.handover.path, "protocol": handoverProtocol}
	}
	writeJSON(w, info)
}

// runtimeVersion is the version of the gwc module the binary was built
// with, as its build information records it.
func runtimeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path == "github.com/gwc-dev/gwc" {
			return m.Version
		}
	}
	return "unknown"
}
