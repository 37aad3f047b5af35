package analyze

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/names"
)

// duplicateHosts warns when several VirtualServices bound to one Gateway
// claim the same host. istiod merges their rules in creation order, which
// files written by hand do not show (gwc then orders them by name, then
// namespace, istiod's tie-break), so the order of the routes is not what
// they read.
func (r *reporter) duplicateHosts(x *index) {
	type claim struct {
		vs    *vsRes
		index int
	}
	claims := map[string]claim{} // gateway + "\x00" + host
	for _, vs := range x.vss {
		for _, ref := range vs.Spec.Gateways {
			gw := names.GatewayRef(ref, vs.Namespace)
			if gw == "" || x.gateways[gw] == nil {
				continue
			}
			for i, h := range vs.Spec.Hosts {
				host := names.FQDN(h, vs.Namespace)
				key := gw + "\x00" + host
				first, ok := claims[key]
				if !ok {
					claims[key] = claim{vs, i}
					continue
				}
				if first.vs == vs {
					continue
				}
				r.report(diag.Warning, diag.CodeDuplicateHost, vs.Resource, fmt.Sprintf("spec.hosts[%d]", i),
					"serve each host from one VirtualService, or use delegate VirtualServices",
					fmt.Sprintf("host %s on gateway %s is also claimed by %s at %s: istiod merges the two rule lists in creation order (creationTimestamp, then name, then namespace), the other's first",
						host, gw, first.vs.ID(), first.vs.PosOf(fmt.Sprintf("spec.hosts[%d]", first.index))))
			}
		}
	}
}

// conflictingServers reports servers of different Gateways that claim
// one host on one port and bind (istioctl: IST0145 ConflictingGateways):
// istiod keeps the first and drops the other for TLS servers, and merges
// unpredictably for plain ones.
func (r *reporter) conflictingServers(x *index) {
	type claim struct {
		gw    *gatewayRes
		index int
	}
	claims := map[string]claim{}
	for _, key := range sortedKeys(x.gateways) {
		g := x.gateways[key]
		for i, s := range g.Spec.Servers {
			for _, h := range s.Hosts {
				if _, name, ok := strings.Cut(h, "/"); ok {
					h = name
				}
				k := fmt.Sprintf("%s\x00%d\x00%s", s.Bind, s.Port.Number, h)
				first, ok := claims[k]
				if !ok {
					claims[k] = claim{g, i}
					continue
				}
				if first.gw == g {
					continue
				}
				r.report(diag.Error, diag.CodeConflictingGateway, g.Resource, fmt.Sprintf("spec.servers[%d].hosts", i),
					"serve the host from one Gateway, or give the servers different ports or binds",
					fmt.Sprintf("host %s on port %d is also served by %s at %s", h, s.Port.Number, first.gw.ID(),
						first.gw.PosOf(fmt.Sprintf("spec.servers[%d].hosts", first.index))))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
