package compiler

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

var specPath = cue.ParsePath("spec")

// listenerKey identifies a socket: servers with the same bind and port
// share one listener, as in istiod.
type listenerKey struct {
	Bind string
	Port int
}

// listener collects what binds to one socket before lowering.
type listener struct {
	key      listenerKey
	protocol string
	servers  []boundServer
	// vhosts maps a domain to the VirtualServices bound to it, in binding
	// order.
	vhosts map[string]*vhost
}

// boundServer is one Gateway server on a listener.
type boundServer struct {
	gw    *gateway
	index int
	hosts []names.ServerHost
	// tls is the termination of an HTTPS server; redirect is httpsRedirect
	// on an HTTP server.
	tls      *ir.ServerTLS
	redirect bool
	// passthrough: a TLS or HTTPS server in PASSTHROUGH mode, routed by the
	// VirtualServices' tls rules.
	passthrough bool
	// tcp: a TLS server that terminates TLS for a tcp rule.
	tcp bool
}

func (s boundServer) origin() ir.Origin {
	return ir.Origin{
		Pos:      s.gw.PosOf(fmt.Sprintf("spec.servers[%d]", s.index)),
		Resource: s.gw.Namespace + "/" + s.gw.Name,
		Field:    fmt.Sprintf("servers[%d]", s.index),
	}
}

type vhost struct {
	domain  string
	servers []boundServer
	// bindings are the VirtualServices bound to this domain, each once.
	bindings []binding
}

// binding is a VirtualService bound to a vhost through some gateways.
type binding struct {
	vs       *virtualService
	gateways []string // "namespace/name" of the gateways it bound through
}

// httpProtocols are the Gateway server protocols this version serves as
// cleartext HTTP (HTTP/1.1 and h2c); one port may mix them, as istiod
// merges the HTTP family. HTTPS terminates TLS and serves the same.
var httpProtocols = map[string]bool{"HTTP": true, "HTTP2": true, "GRPC": true, "GRPC-WEB": true}

// protocolFamily groups the protocols that may share a port.
func protocolFamily(p string) string {
	switch {
	case httpProtocols[p]:
		return "HTTP"
	case p == "HTTPS":
		return "TLS" // terminated and passthrough servers share a port by SNI
	}
	return p
}

// buildListeners turns every Gateway server into a listener, merging
// servers that share a port as istiod merges plain-text HTTP servers.
func (c *compilation) buildListeners() {
	for _, name := range sortedKeys(c.gateways) {
		gw := c.gateways[name]
		for i, s := range gw.Spec.Servers {
			path := fmt.Sprintf("spec.servers[%d]", i)
			bs := boundServer{gw: gw, index: i}
			proto, ok := c.classifyServer(gw, i, s, &bs)
			if !ok {
				continue
			}
			if strings.HasPrefix(s.Bind, "unix://") {
				c.errorc(codeUnsupported, gw.Resource, path+".bind", "bind to an IP address or leave bind empty", "unix domain socket binds are not supported")
				continue
			}
			key := listenerKey{Bind: s.Bind, Port: s.Port.Number}
			l := c.listeners[key]
			if l == nil {
				l = &listener{key: key, protocol: proto, vhosts: map[string]*vhost{}}
				c.listeners[key] = l
			} else if protocolFamily(l.protocol) != protocolFamily(proto) {
				first := l.servers[0]
				c.errorc(codePortProtocol, gw.Resource, path+".port.protocol", "use another port, or the same protocol on both servers",
					"port %d is already served with protocol %s by %s; one port cannot carry two protocols", key.Port, describeProtocol(l.protocol), first.origin())
				continue
			} else if proto == "HTTPS" {
				l.protocol = proto // a passthrough listener that also terminates
			} else if proto == "TCP" {
				c.errorc(codeConflictingGw, gw.Resource, path+".port.number", "use another port, or one TCP server with the hosts of both",
					"port %d is already served by TCP server %s; istiod keeps only the first TCP server of a port", key.Port, l.servers[0].origin())
				continue
			}
			for _, h := range s.Hosts {
				bs.hosts = append(bs.hosts, names.ParseServerHost(h, gw.Namespace))
			}
			if (bs.tls != nil || bs.passthrough) && !c.checkSNI(l, bs, path) {
				continue
			}
			l.servers = append(l.servers, bs)
		}
	}
}

// checkSNI rejects an HTTPS server that repeats a host of another HTTPS
// server on the same port: a handshake could not tell them apart (istiod
// drops the later server; gwc says so).
func (c *compilation) checkSNI(l *listener, bs boundServer, path string) bool {
	for _, other := range l.servers {
		if other.tls == nil && !other.passthrough {
			continue
		}
		for _, name := range bs.sniNames() {
			if slices.Contains(other.sniNames(), name) {
				c.errorc(codeConflictingGw, bs.gw.Resource, path+".hosts", "give each HTTPS server on a port its own hosts",
					"host %q is already served on port %d by %s; a TLS handshake could not choose between them", name, l.key.Port, other.origin())
				return false
			}
		}
	}
	return true
}

// sniNames are the server names a TLS server answers: its hosts without
// namespace.
func (s boundServer) sniNames() []string {
	if s.tls != nil {
		return s.tls.SNI
	}
	var out []string
	for _, h := range s.hosts {
		out = append(out, h.Host)
	}
	return out
}

// addRedirectVHosts gives every host of an httpsRedirect server that no
// VirtualService bound a vhost of its own, so its requests are redirected
// rather than answered 404 (istiod's redirect-only virtual host).
func (c *compilation) addRedirectVHosts() {
	for _, l := range c.listeners {
		for _, s := range l.servers {
			if !s.redirect {
				continue
			}
			for _, h := range s.hosts {
				if l.vhosts[h.Host] == nil {
					l.vhosts[h.Host] = &vhost{domain: h.Host, servers: []boundServer{s}}
				}
			}
		}
	}
}

// vhostTLS says how a vhost relates to its listener's servers: whether one
// of its servers redirects to https, and which TLS servers may use it.
func vhostTLS(l *listener, v *vhost) (redirect bool, tlsServers []int) {
	var terminating []boundServer // as ir.Listener.TLS
	for _, s := range l.servers {
		if s.tls != nil {
			terminating = append(terminating, s)
		}
	}
	for _, s := range v.servers {
		redirect = redirect || s.redirect
		if s.tls == nil || s.tcp {
			continue
		}
		i := slices.IndexFunc(terminating, func(o boundServer) bool { return o.gw == s.gw && o.index == s.index })
		if i >= 0 && !slices.Contains(tlsServers, i) {
			tlsServers = append(tlsServers, i)
		}
	}
	slices.Sort(tlsServers)
	return redirect, tlsServers
}

// describeProtocol names a listener protocol for a message.
func describeProtocol(p string) string {
	if p == "TLS" {
		return "TLS (passthrough)"
	}
	return p
}

// checkSharedHTTPSHost warns when a domain of an HTTPS listener comes from
// more than one terminating server (a wildcard host of one covering a host
// of another) and more than one VirtualService: istiod keeps a route table
// per server, gwc one per listener, so the routes may differ.
func (c *compilation) checkSharedHTTPSHost(l *listener, v *vhost, nservers int) {
	if nservers < 2 || len(v.bindings) < 2 {
		return
	}
	last := v.servers[len(v.servers)-1]
	c.warnc(codeMergedServers, last.gw.Resource, fmt.Sprintf("spec.servers[%d].hosts", last.index), "give the HTTPS servers of a port hosts that do not overlap",
		"host %q is served by %d HTTPS servers of port %d with routes from %d VirtualServices: gwc merges them, where istiod gives each server its own route table",
		v.domain, nservers, l.key.Port, len(v.bindings))
}
