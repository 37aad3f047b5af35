package analyze

import (
	"fmt"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/names"
)

// eachDestination calls fn for every route, mirror and mirrors
// destination of every VirtualService.
func (x *index) eachDestination(fn func(vs *vsRes, path string, d destination)) {
	for _, vs := range x.vss {
		for i, rule := range vs.Spec.HTTP {
			for k, rd := range rule.Route {
				fn(vs, fmt.Sprintf("spec.http[%d].route[%d].destination", i, k), rd.Destination)
			}
			if rule.Mirror != nil {
				fn(vs, fmt.Sprintf("spec.http[%d].mirror", i), *rule.Mirror)
			}
			for k, m := range rule.Mirrors {
				fn(vs, fmt.Sprintf("spec.http[%d].mirrors[%d].destination", i, k), m.Destination)
			}
		}
	}
}

// destinationHosts warns about destination hosts that no ServiceEntry
// declares and that are not Kubernetes service names (name,
// name.namespace or name.namespace.svc.cluster.local), which gwc would
// otherwise resolve through DNS (istioctl: IST0101, host not found).
func (r *reporter) destinationHosts(x *index) {
	x.eachDestination(func(vs *vsRes, path string, d destination) {
		host := names.FQDN(d.Host, vs.Namespace)
		if d.Host == "" || strings.Contains(host, "*") || isClusterName(d.Host) {
			return
		}
		for _, se := range x.ses {
			for _, h := range se.Spec.Hosts {
				if names.Covers(names.FQDN(h, se.Namespace), host) {
					return
				}
			}
		}
		r.report(diag.Warning, diag.CodeUnknownHost, vs.Resource, path+".host",
			"add a ServiceEntry with hosts: ["+host+"], or use a Kubernetes service name",
			fmt.Sprintf("destination host %q is declared by no ServiceEntry and is not a cluster service name; gwc will resolve it through DNS", d.Host))
	})
}

// isClusterName reports whether a host names a Kubernetes service:
// "name", "name.namespace", or anything under ".svc.cluster.local" / ".svc".
func isClusterName(h string) bool {
	if strings.HasSuffix(h, ".svc.cluster.local") || strings.HasSuffix(h, ".svc") {
		return true
	}
	return strings.Count(h, ".") <= 1
}
