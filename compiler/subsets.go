package compiler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// selectSubset keeps the endpoints of cl whose labels include every label
// of the subset. A subset that selects nothing is an error (Envoy would
// answer 503 UH; istioctl reports IST0173).
func (c *compilation) selectSubset(vs *virtualService, path string, cl *ir.Cluster, dr *destinationRule, sub *subset, se *serviceEntry) bool {
	cl.Subset = sub.Name
	if len(sub.Labels) == 0 {
		return true
	}
	want := sortedLabels(sub.Labels)
	var kept []ir.Endpoint
	for _, ep := range cl.Endpoints {
		if hasAll(ep.Labels, want) {
			kept = append(kept, ep)
		}
	}
	if len(kept) > 0 {
		cl.Endpoints = kept
		return true
	}
	k := slices.IndexFunc(dr.Spec.Subsets, func(s subset) bool { return s.Name == sub.Name })
	where := "no ServiceEntry declares its endpoints, so gwc cannot see their labels"
	hint := "declare the endpoints with their labels in a ServiceEntry"
	if se != nil {
		where = fmt.Sprintf("no endpoint of ServiceEntry %s/%s has the labels %s", se.Namespace, se.Name, strings.Join(want, ","))
		hint = "fix the subset labels or the endpoint labels"
	}
	c.errorc(codeSubsetNoPods, vs.Resource, path+".subset", hint, "subset %q of DestinationRule %s/%s selects no endpoint: %s (Envoy would answer 503)",
		sub.Name, dr.Namespace, dr.Name, where)
	c.errorc(codeSubsetNoPods, dr.Resource, fmt.Sprintf("spec.subsets[%d].labels", k), hint, "subset %q selects no endpoint of host %s", sub.Name, cl.Host)
	return false
}

// applyPolicy sets the cluster's traffic policy from the rules for its
// host, merged as istiod merges them.
func (c *compilation) applyPolicy(cl *ir.Cluster, drs []*destinationRule, subDR *destinationRule, sub *subset, se *serviceEntry) {
	topDR, top := topPolicy(drs)
	var subPol *trafficPolicy
	if sub != nil {
		subPol = sub.TrafficPolicy
	}
	eff := effectivePolicy(top, subPol, cl.Port)
	if eff == nil || eff.LoadBalancer == nil && eff.ConnectionPool == nil && eff.OutlierDetection == nil && eff.TLS == nil {
		return
	}
	origin := topDR
	if subPol != nil {
		origin = subDR
	}
	p := c.toPolicy(origin, "", eff, false)
	if p.TLS != nil && len(p.TLS.SubjectAltNames) == 0 && se != nil {
		p.TLS.SubjectAltNames = se.Spec.SubjectAltNames
	}
	cl.Policy = p
}

func sortedLabels(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// hasAll reports whether the sorted labels have contain every one of want.
func hasAll(have, want []string) bool {
	for _, w := range want {
		if _, found := slices.BinarySearch(have, w); !found {
			return false
		}
	}
	return true
}
