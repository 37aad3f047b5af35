package compiler

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/ir"
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
	hosts []serverHost
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

// httpProtocols are the Gateway server protocols this version serves.
var httpProtocols = map[string]bool{"HTTP": true}

// buildListeners turns every Gateway server into a listener, merging
// servers that share a port as istiod merges plain-text HTTP servers.
func (c *compilation) buildListeners() {
	for _, name := range sortedKeys(c.gateways) {
		gw := c.gateways[name]
		for i, s := range gw.Spec.Servers {
			path := fmt.Sprintf("spec.servers[%d]", i)
			proto := strings.ToUpper(s.Port.Protocol)
			if !httpProtocols[proto] {
				c.errorc(codeUnsupported, gw.Resource, path+".port.protocol", "this version of gwc serves plain HTTP servers only; TLS, HTTP/2, gRPC and TCP servers come with a later release",
					"protocol %s is not supported yet", s.Port.Protocol)
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
			} else if l.protocol != proto {
				first := l.servers[0]
				c.errorc(codePortProtocol, gw.Resource, path+".port.protocol", "use another port, or the same protocol on both servers",
					"port %d is already served with protocol %s by %s; one port cannot carry two protocols", key.Port, l.protocol, first.origin())
				continue
			}
			bs := boundServer{gw: gw, index: i}
			for _, h := range s.Hosts {
				bs.hosts = append(bs.hosts, parseServerHost(h, gw.Namespace))
			}
			l.servers = append(l.servers, bs)
		}
	}
}
