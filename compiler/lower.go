package compiler

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// lower assembles the IR from the bound listeners: everything sorted, every
// cluster referenced by index.
func (c *compilation) lower(resources []*load.Resource) *ir.Config {
	cfg := &ir.Config{Digest: digest(resources)}
	for _, r := range resources {
		if !slices.Contains(cfg.Sources, r.File) {
			cfg.Sources = append(cfg.Sources, r.File)
		}
	}
	slices.Sort(cfg.Sources)

	// Routes are built before clusters get their indexes, which depend on
	// the set of clusters the routes use.
	type pending struct {
		listener, vh int
		built        []route
	}
	var todo []pending
	l4 := map[int][]l4route{} // by listener index
	type tcpServer struct {
		li, ti int // listener, index in its TLS
		r      *l4route
	}
	var tcpServers []tcpServer
	c.addRedirectVHosts()
	c.checkSNIHosts()
	for _, key := range sortedListenerKeys(c.listeners) {
		l := c.listeners[key]
		cfg.Listeners = append(cfg.Listeners, ir.Listener{Bind: key.Bind, Port: key.Port, Protocol: l.protocol})
		il := &cfg.Listeners[len(cfg.Listeners)-1]
		for _, s := range l.servers {
			il.Servers = append(il.Servers, s.origin())
			if s.tls != nil {
				il.TLS = append(il.TLS, *s.tls)
			}
		}
		li := len(cfg.Listeners) - 1
		if l.isL4() {
			l4[li] = c.l4Routes(l)
			continue
		}
		if l.hasPassthrough() {
			l4[li] = c.l4Routes(l)
		}
		ti := 0
		for _, s := range l.servers {
			if s.tls == nil {
				continue
			}
			if s.tcp {
				if r := c.terminatedTCPRoute(l, s); r != nil {
					tcpServers = append(tcpServers, tcpServer{li, ti, r})
				}
			}
			ti++
		}
		for _, domain := range sortedKeys(l.vhosts) {
			v := l.vhosts[domain]
			if l.protocol == "HTTPS" && !slices.ContainsFunc(v.servers, func(s boundServer) bool { return s.tls != nil && !s.tcp }) {
				continue // a passthrough or TCP host: no HTTP here
			}
			vh := ir.VirtualHost{Domain: domain}
			vh.HTTPSRedirect, vh.TLSServers = vhostTLS(l, v)
			vh.RateLimit = c.vhostRateLimit(v)
			c.checkSharedHTTPSHost(l, v, len(vh.TLSServers))
			for _, s := range v.servers {
				vh.Servers = append(vh.Servers, s.origin())
			}
			il.VirtualHosts = append(il.VirtualHosts, vh)
			todo = append(todo, pending{listener: len(cfg.Listeners) - 1, vh: len(il.VirtualHosts) - 1, built: c.routes(l, v)})
		}
	}

	used := map[string]bool{}
	for _, p := range todo {
		for _, r := range p.built {
			for _, d := range r.dests {
				used[d.cluster] = true
			}
			for _, m := range r.mirrors {
				used[m.cluster] = true
			}
		}
	}
	for _, rs := range l4 {
		for _, r := range rs {
			for _, d := range r.dests {
				used[d.cluster] = true
			}
		}
	}
	for _, ts := range tcpServers {
		for _, d := range ts.r.dests {
			used[d.cluster] = true
		}
	}
	names := slices.Sorted(maps.Keys(used))
	index := map[string]int{}
	for i, name := range names {
		index[name] = i
		cfg.Clusters = append(cfg.Clusters, *c.clusters[name])
	}
	c.markHTTP2(cfg)
	for _, p := range todo {
		vh := &cfg.Listeners[p.listener].VirtualHosts[p.vh]
		for _, r := range p.built {
			for _, d := range r.dests {
				if r.DestinationHeadersLast {
					// Its removals joined the route's (routes).
					d.reqOps.Remove, d.respOps.Remove = nil, nil
				}
				r.Destinations = append(r.Destinations, ir.Destination{Cluster: index[d.cluster], Weight: d.weight, RequestHeaders: d.reqOps, ResponseHeaders: d.respOps, Authority: d.authority})
			}
			for _, m := range r.mirrors {
				r.Mirrors = append(r.Mirrors, ir.Mirror{Cluster: index[m.cluster], Percent: m.percent})
			}
			vh.Routes = append(vh.Routes, r.Route)
		}
	}
	for li, rs := range l4 {
		for _, r := range rs {
			for _, d := range r.dests {
				r.Destinations = append(r.Destinations, ir.Destination{Cluster: index[d.cluster], Weight: d.weight})
			}
			cfg.Listeners[li].L4 = append(cfg.Listeners[li].L4, r.L4Route)
		}
	}
	for _, ts := range tcpServers {
		r := ts.r.L4Route
		for _, d := range ts.r.dests {
			r.Destinations = append(r.Destinations, ir.Destination{Cluster: index[d.cluster], Weight: d.weight})
		}
		cfg.Listeners[ts.li].TLS[ts.ti].TCP = &r
	}
	return cfg
}

// digest is a sha256 over the input resources in a canonical order, so the
// same resources give the same digest whatever files they came from.
func digest(resources []*load.Resource) string {
	sorted := slices.Clone(resources)
	slices.SortFunc(sorted, func(a, b *load.Resource) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	h := sha256.New()
	for _, r := range sorted {
		js, err := r.JSON()
		if err != nil {
			js = []byte(err.Error())
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\n", r.APIVersion, r.Kind, r.Namespace, r.Name, js)
	}
	return hex.EncodeToString(h.Sum(nil))
}
