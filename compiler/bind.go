package compiler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/names"
)

// bindVirtualServices attaches each VirtualService to the vhosts of the
// Gateway servers its hosts intersect.
func (c *compilation) bindVirtualServices() {
	for _, vs := range c.vss {
		if c.delegates[vs] {
			continue // served through its root
		}
		if len(vs.Spec.Gateways) == 0 {
			c.warnc(codeMeshOnly, vs.Resource, "spec.hosts", "add a gateways list naming the Gateway, e.g. gateways: [my-gateway]",
				"no gateways: the VirtualService applies only to the mesh (sidecars), so the ingress does not serve it")
			continue
		}
		gws := map[string]bool{}
		for i, ref := range vs.Spec.Gateways {
			key := names.GatewayRef(ref, vs.Namespace)
			if key == "" {
				continue
			}
			if c.gateways[key] == nil {
				c.errorc(codeNotFound, vs.Resource, fmt.Sprintf("spec.gateways[%d]", i), c.gatewayHint(),
					"gateway %q (%s) not found", ref, key)
				continue
			}
			gws[key] = true
		}
		c.checkMatchGateways(vs)
		if len(gws) == 0 {
			continue
		}
		hosts := make([]string, len(vs.Spec.Hosts))
		for i, h := range vs.Spec.Hosts {
			hosts[i] = names.FQDN(h, vs.Namespace)
		}
		bound := make([]bool, len(hosts))
		for _, key := range sortedListenerKeys(c.listeners) {
			l := c.listeners[key]
			for _, s := range l.servers {
				gwKey := s.gw.Namespace + "/" + s.gw.Name
				if !gws[gwKey] {
					continue
				}
				for i, h := range hosts {
					for _, sh := range s.hosts {
						if sh.Namespace != "*" && sh.Namespace != vs.Namespace {
							continue
						}
						if domain, ok := names.Intersect(h, sh.Host); ok {
							l.bind(domain, s, vs, gwKey)
							bound[i] = true
						}
					}
				}
			}
		}
		for i, ok := range bound {
			if !ok {
				c.warnc(codeHostNotInGw, vs.Resource, fmt.Sprintf("spec.hosts[%d]", i), "add the host to a server of the Gateway, or fix the VirtualService host",
					"host %q is served by none of the servers of its gateways: requests for it get 404", hosts[i])
			}
		}
	}
}

// checkMatchGateways reports per-match gateway references that name no
// Gateway.
func (c *compilation) checkMatchGateways(vs *virtualService) {
	for i, rule := range vs.Spec.HTTP {
		for j, m := range rule.Match {
			for k, ref := range m.Gateways {
				key := names.GatewayRef(ref, vs.Namespace)
				if key != "" && c.gateways[key] == nil {
					c.errorc(codeNotFound, vs.Resource, fmt.Sprintf("spec.http[%d].match[%d].gateways[%d]", i, j, k), c.gatewayHint(),
						"gateway %q (%s) not found", ref, key)
				}
			}
		}
	}
}

func (c *compilation) gatewayHint() string {
	if len(c.gateways) == 0 {
		return "no Gateway resource was loaded; add one to the inputs"
	}
	return "known gateways: " + strings.Join(sortedKeys(c.gateways), ", ")
}

// bind records that vs serves domain on this listener through gateway gw.
func (l *listener) bind(domain string, s boundServer, vs *virtualService, gw string) {
	v := l.vhosts[domain]
	if v == nil {
		v = &vhost{domain: domain}
		l.vhosts[domain] = v
	}
	if !slices.ContainsFunc(v.servers, func(o boundServer) bool { return o.gw == s.gw && o.index == s.index }) {
		v.servers = append(v.servers, s)
	}
	for i := range v.bindings {
		if v.bindings[i].vs == vs {
			if !slices.Contains(v.bindings[i].gateways, gw) {
				v.bindings[i].gateways = append(v.bindings[i].gateways, gw)
			}
			return
		}
	}
	v.bindings = append(v.bindings, binding{vs: vs, gateways: []string{gw}})
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func sortedListenerKeys(m map[listenerKey]*listener) []listenerKey {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b listenerKey) int {
		if a.Bind != b.Bind {
			return strings.Compare(a.Bind, b.Bind)
		}
		return a.Port - b.Port
	})
	return keys
}
