package compiler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// selectSubset keeps the endpoints of cl whose labels include every label
// of the subset.
//
// A subset that selects none of a ServiceEntry's endpoints is a warning
// and a cluster without endpoints, which the runtime answers with 503 and
// the response flag UH, counted like any other: istiod builds the subset's
// cluster with an empty endpoint set and Envoy answers "no healthy
// upstream" (pilot/pkg/networking/core/cluster_builder.go builds subset
// clusters whatever their endpoints; istioctl only notes it, IST0173). A
// rollout relies on it when it defines subset v3 before its pods exist.
// Without a ServiceEntry gwc cannot see any endpoint's labels, so the
// subset could never select one: that stays an error, except in a build
// with --endpoints kubernetes, which selects pods by label at run time.
func (c *compilation) selectSubset(vs *virtualService, path string, cl *ir.Cluster, dr *destinationRule, sub *subset, se *serviceEntry) bool {
	cl.Subset = sub.Name
	if len(sub.Labels) == 0 {
		return true
	}
	want := sortedLabels(sub.Labels)
	if cl.Service != nil {
		// The pods' labels are known at run time only: the discovery
		// selects them, and an empty subset answers 503 UH there.
		cl.Service.Labels = want
		return true
	}
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
	if se != nil {
		hint := "add endpoints with the labels " + strings.Join(want, ",") + " to the ServiceEntry, or fix the subset labels"
		c.warnc(codeSubsetNoPods, vs.Resource, path+".subset", hint,
			"subset %q of DestinationRule %s/%s selects no endpoint: no endpoint of ServiceEntry %s/%s has the labels %s; requests get 503 (no healthy upstream, UH) until it does",
			sub.Name, dr.Namespace, dr.Name, se.Namespace, se.Name, strings.Join(want, ","))
		c.warnc(codeSubsetNoPods, dr.Resource, fmt.Sprintf("spec.subsets[%d].labels", k), hint, "subset %q selects no endpoint of host %s", sub.Name, cl.Host)
		cl.Endpoints = nil
		return true
	}
	hint := "declare the endpoints with their labels in a ServiceEntry, or build with --endpoints kubernetes to select pods by label"
	c.errorc(codeSubsetNoPods, vs.Resource, path+".subset", hint,
		"subset %q of DestinationRule %s/%s selects no endpoint: no ServiceEntry declares its endpoints, so gwc cannot see their labels (Envoy would answer 503)",
		sub.Name, dr.Namespace, dr.Name)
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
