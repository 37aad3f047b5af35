package manifests

import (
	"slices"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// Access is what an ingress built with --endpoints kubernetes reads of the
// Kubernetes API in one namespace: EndpointSlices always, Pods when a
// subset selects them by label. Render writes a Role and a RoleBinding
// for each, granting exactly get, list and watch on them to the
// ingress's ServiceAccount.
type Access struct {
	Namespace string
	Pods      bool
}

// DiscoveryAccess returns the namespaces cfg's clusters watch, sorted;
// none for a binary that does not discover endpoints.
func DiscoveryAccess(cfg *ir.Config) []Access {
	var out []Access
	for _, c := range cfg.Clusters {
		s := c.Service
		if s == nil {
			continue
		}
		i := slices.IndexFunc(out, func(a Access) bool { return a.Namespace == s.Namespace })
		if i < 0 {
			out = append(out, Access{Namespace: s.Namespace})
			i = len(out) - 1
		}
		out[i].Pods = out[i].Pods || len(s.Labels) > 0
	}
	slices.SortFunc(out, func(a, b Access) int {
		if a.Namespace < b.Namespace {
			return -1
		}
		if a.Namespace > b.Namespace {
			return 1
		}
		return 0
	})
	return out
}
