package compiler

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

// l4route is an ir.L4Route whose destinations still name clusters.
type l4route struct {
	ir.L4Route
	dests []pendingDest
}

// isL4 reports whether a listener forwards connections rather than HTTP.
func (l *listener) isL4() bool { return l.protocol == "TCP" || l.protocol == "TLS" }

// hasPassthrough reports whether an HTTPS listener also forwards some
// names untouched.
func (l *listener) hasPassthrough() bool {
	return slices.ContainsFunc(l.servers, func(s boundServer) bool { return s.passthrough })
}

// l4Routes builds the connection routes of a TCP or TLS passthrough
// listener as istiod does at a gateway. The VirtualServices bound to the
// listener's servers are taken in order (namespace, then name). On TCP the
// first tcp rule whose match fits the port and gateway takes every
// connection; on TLS passthrough every fitting tls match becomes a route
// for its sniHosts, a name already taken by an earlier route skipped.
func (c *compilation) l4Routes(l *listener) []l4route {
	bound := map[*virtualService][]string{}
	for _, v := range l.vhosts {
		if l.protocol == "HTTPS" && !slices.ContainsFunc(v.servers, func(s boundServer) bool { return s.passthrough }) {
			continue // bound through terminating servers only
		}
		for _, b := range v.bindings {
			for _, g := range b.gateways {
				if !slices.Contains(bound[b.vs], g) {
					bound[b.vs] = append(bound[b.vs], g)
				}
			}
		}
	}
	fits := func(vs *virtualService, port int, gws []string) bool {
		if port != 0 && port != l.key.Port {
			return false
		}
		return len(gws) == 0 || slices.ContainsFunc(gws, func(ref string) bool {
			return slices.Contains(bound[vs], names.GatewayRef(ref, vs.Namespace))
		})
	}
	var out []l4route
	taken := map[string]bool{}
	for _, vs := range c.vss {
		if bound[vs] == nil {
			continue
		}
		if l.protocol == "TCP" {
			for i, rule := range vs.Spec.TCP {
				ok := len(rule.Match) == 0 || slices.ContainsFunc(rule.Match, func(m l4Match) bool { return fits(vs, m.Port, m.Gateways) })
				if !ok {
					continue
				}
				r := l4route{L4Route: ir.L4Route{Origin: l4Origin(vs, "tcp", i)}}
				r.dests = c.l4Destinations(vs, fmt.Sprintf("spec.tcp[%d]", i), rule, l.key.Port)
				return []l4route{r}
			}
			continue
		}
		for i, rule := range vs.Spec.TLS {
			for j, m := range rule.Match {
				if !fits(vs, m.Port, m.Gateways) {
					continue
				}
				r := l4route{L4Route: ir.L4Route{Origin: l4Origin(vs, "tls", i)}}
				r.Origin.Pos = vs.PosOf(fmt.Sprintf("spec.tls[%d].match[%d]", i, j))
				r.Origin.Field += fmt.Sprintf(".match[%d]", j)
				for _, h := range m.SNIHosts {
					h = strings.ToLower(h)
					if !taken[h] {
						taken[h] = true
						r.SNI = append(r.SNI, h)
					}
				}
				if len(r.SNI) == 0 {
					continue
				}
				r.dests = c.l4Destinations(vs, fmt.Sprintf("spec.tls[%d]", i), rule, l.key.Port)
				out = append(out, r)
			}
		}
	}
	return out
}

// terminatedTCPRoute finds the tcp rule for a TLS server that terminates:
// the first rule, among the VirtualServices bound through that server,
// whose match fits the port and the server's gateway, as istiod does.
func (c *compilation) terminatedTCPRoute(l *listener, s boundServer) *l4route {
	gw := s.gw.Namespace + "/" + s.gw.Name
	bound := map[*virtualService]bool{}
	for _, v := range l.vhosts {
		if !slices.ContainsFunc(v.servers, func(o boundServer) bool { return o.gw == s.gw && o.index == s.index }) {
			continue
		}
		for _, b := range v.bindings {
			if slices.Contains(b.gateways, gw) {
				bound[b.vs] = true
			}
		}
	}
	for _, vs := range c.vss {
		if !bound[vs] {
			continue
		}
		for i, rule := range vs.Spec.TCP {
			if len(rule.Match) > 0 && !slices.ContainsFunc(rule.Match, func(m l4Match) bool {
				return (m.Port == 0 || m.Port == l.key.Port) && (len(m.Gateways) == 0 || slices.ContainsFunc(m.Gateways, func(ref string) bool {
					return names.GatewayRef(ref, vs.Namespace) == gw
				}))
			}) {
				continue
			}
			r := &l4route{L4Route: ir.L4Route{Origin: l4Origin(vs, "tcp", i)}}
			r.dests = c.l4Destinations(vs, fmt.Sprintf("spec.tcp[%d]", i), rule, l.key.Port)
			return r
		}
	}
	return nil
}

func l4Origin(vs *virtualService, kind string, i int) ir.Origin {
	return ir.Origin{Pos: vs.PosOf(fmt.Sprintf("spec.%s[%d]", kind, i)), Resource: vs.Namespace + "/" + vs.Name, Field: fmt.Sprintf("%s[%d]", kind, i)}
}

// l4Destinations resolves the weighted destinations of a tcp or tls rule,
// as destinations does for HTTP.
func (c *compilation) l4Destinations(vs *virtualService, path string, rule l4Rule, port int) []pendingDest {
	if len(rule.Route) == 0 {
		c.errorc(codeValidation, vs.Resource, path, "add a route with a destination", "rule has no route")
		return nil
	}
	var out []pendingDest
	total := 0
	for k, d := range rule.Route {
		name, ok := c.cluster(vs, fmt.Sprintf("%s.route[%d].destination", path, k), d.Destination, port)
		w := 0
		if d.Weight != nil {
			w = *d.Weight
		}
		if len(rule.Route) == 1 {
			w = 100
		}
		total += w
		if ok && w > 0 {
			out = append(out, pendingDest{cluster: name, weight: w})
		}
	}
	if total == 0 {
		c.errorc(codeValidation, vs.Resource, path+".route", "give at least one destination a positive weight", "the weights of the destinations total 0")
	}
	return out
}

// checkSNIHosts reports tls match sniHosts that are not within the
// VirtualService's hosts, as istiod's validation does: such a route could
// never be reached through a server bound by those hosts.
func (c *compilation) checkSNIHosts() {
	for _, vs := range c.vss {
		for i, rule := range vs.Spec.TLS {
			for j, m := range rule.Match {
				for k, sni := range m.SNIHosts {
					sni = strings.ToLower(sni)
					if !slices.ContainsFunc(vs.Spec.Hosts, func(h string) bool {
						h = names.FQDN(h, vs.Namespace)
						return h == sni || names.Covers(h, sni)
					}) {
						code := codeValidation
						if _, err := netip.ParseAddr(sni); err == nil {
							code = codeUnsupported // Istio's webhook lets an IP through
						}
						c.errorc(code, vs.Resource, fmt.Sprintf("spec.tls[%d].match[%d].sniHosts[%d]", i, j, k),
							"add the name to the VirtualService's hosts, or use one of "+strings.Join(vs.Spec.Hosts, ", "),
							"SNI host %q is not a compatible subset of any of the VirtualService's hosts", sni)
					}
				}
			}
		}
	}
}
