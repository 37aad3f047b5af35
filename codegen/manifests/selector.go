package manifests

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// Selector returns the pod labels of cfg's workload, which the objects
// select. Two Gateways that select different values of one label select
// different workloads, which one binary cannot be: that is an error.
func Selector(cfg *ir.Config) (map[string]string, error) {
	sel := map[string]string{}
	from := map[string]ir.Origin{}
	for _, l := range cfg.Workload.Selector {
		if old, ok := sel[l.Key]; ok {
			return nil, fmt.Errorf("%s: Gateway %s selects %s=%s but Gateway %s selects %s=%s (%s): they are different workloads; build them into separate ingresses",
				l.Origin.Pos, l.Origin.Resource, l.Key, l.Value, from[l.Key].Resource, l.Key, old, from[l.Key].Pos)
		}
		sel[l.Key], from[l.Key] = l.Value, l.Origin
	}
	return sel, nil
}
