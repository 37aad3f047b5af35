package runtime

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
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
	mux.HandleFunc("GET /config_dump", g.serveConfigDump)
	mux.HandleFunc("GET /clusters", g.serveClusters)
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
	}
	dumpRoute struct {
		ID       string         `json:"id"`
		Matches  []dumpMatch    `json:"matches,omitempty"`
		Clusters []dumpWeighted `json:"clusters"`
	}
	dumpMatch struct {
		Path    *dumpString  `json:"path,omitempty"`
		Method  *dumpString  `json:"method,omitempty"`
		Headers []dumpHeader `json:"headers,omitempty"`
	}
	dumpString struct {
		Kind  string `json:"kind"`
		Value string `json:"value,omitempty"`
	}
	dumpHeader struct {
		Name  string     `json:"name"`
		Match dumpString `json:"match"`
	}
	dumpWeighted struct {
		Cluster string `json:"cluster"`
		Weight  uint32 `json:"weight"`
	}
	dumpCluster struct {
		Name      string         `json:"name"`
		Resolve   bool           `json:"resolve,omitempty"`
		Endpoints []dumpEndpoint `json:"endpoints"`
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
			dv := dumpVirtualHost{Domain: vh.Domain, Routes: []dumpRoute{}}
			for _, r := range vh.Routes {
				dr := dumpRoute{ID: r.ID, Clusters: []dumpWeighted{}}
				for _, m := range r.Matches {
					dr.Matches = append(dr.Matches, dumpMatchOf(m))
				}
				for _, wc := range r.Clusters {
					dr.Clusters = append(dr.Clusters, dumpWeighted{clusterName(wc.Cluster), wc.Weight})
				}
				dv.Routes = append(dv.Routes, dr)
			}
			dl.VirtualHosts = append(dl.VirtualHosts, dv)
		}
		dl.TLS, dl.L4 = dumpTLSOf(&l), dumpL4Of(&l, clusterName)
		d.Listeners = append(d.Listeners, dl)
	}
	for _, c := range cfg.Clusters {
		dc := dumpCluster{Name: c.Name, Resolve: c.Resolve, Endpoints: []dumpEndpoint{}}
		for _, ep := range c.Endpoints {
			dc.Endpoints = append(dc.Endpoints, dumpEndpoint(ep))
		}
		d.Clusters = append(d.Clusters, dc)
	}
	return d
}

func dumpMatchOf(m Match) dumpMatch {
	var dm dumpMatch
	if m.Path.Kind != MatchAny {
		dm.Path = &dumpString{m.Path.Kind.String(), m.Path.Value}
	}
	if m.Method.Kind != MatchAny {
		dm.Method = &dumpString{m.Method.Kind.String(), m.Method.Value}
	}
	for _, h := range m.Headers {
		kind := h.Match.Kind.String()
		if h.Match.Kind == MatchAny {
			kind = "present"
		}
		dm.Headers = append(dm.Headers, dumpHeader{h.Name, dumpString{kind, h.Match.Value}})
	}
	return dm
}

func (g *gateway) serveClusters(w http.ResponseWriter, _ *http.Request) {
	out := []dumpClusterState{}
	for _, up := range g.engine.ups {
		eps := up.current()
		resolved := up.dns == nil || up.dns.set.Load() != nil
		out = append(out, dumpClusterState{Name: up.cluster.Name, Endpoints: append([]string{}, eps...), Resolved: resolved,
			Ejected: up.ejectedAddrs()})
	}
	writeJSON(w, map[string]any{"clusters": out})
}
