package manifests

import (
	"slices"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// Access is what an ingress built with --endpoints kubernetes reads of the
// Kubernetes API in one namespace: the Services the routes name and their
// EndpointSlices always, Pods when a subset selects them by label. Render
// writes a Role and a RoleBinding for each, granting exactly get, list and
// watch on them to the ingress's ServiceAccount.
type Access struct {
	Namespace string
	// Services are the names of the Services the routes use there,
	// sorted. With one, the ingress watches it by a field selector on
	// metadata.name (runtime/kubernetes), so the Role can name it in
	// resourceNames; with several it watches the namespace's Services.
	Services []string
	Pods     bool
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
		if !slices.Contains(out[i].Services, s.Name) {
			out[i].Services = append(out[i].Services, s.Name)
			slices.Sort(out[i].Services)
		}
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
