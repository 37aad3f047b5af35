package compiler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// workload collects what the Kubernetes objects need from cfg: the
// selector labels of the Gateways that made its listeners (read from the
// typed model, not the input again) and every credential name it holds.
func (c *compilation) workload(cfg *ir.Config) ir.Workload {
	var w ir.Workload
	used := map[string]bool{}
	for _, l := range cfg.Listeners {
		for _, s := range l.Servers {
			used[s.Resource] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(used)) {
		gw := c.gateways[id]
		if gw == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(gw.Spec.Selector)) {
			v := gw.Spec.Selector[k]
			if slices.ContainsFunc(w.Selector, func(l ir.Label) bool { return l.Key == k && l.Value == v }) {
				continue
			}
			w.Selector = append(w.Selector, ir.Label{Key: k, Value: v, Origin: ir.Origin{
				Pos:      gw.PosOf(fmt.Sprintf("spec.selector[%q]", k)),
				Resource: id,
				Field:    fmt.Sprintf("selector[%q]", k),
			}})
		}
	}
	slices.SortStableFunc(w.Selector, func(a, b ir.Label) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})

	var creds []string
	add := func(names ...string) {
		for _, n := range names {
			if n != "" {
				creds = append(creds, n)
			}
		}
	}
	for _, l := range cfg.Listeners {
		for _, t := range l.TLS {
			add(t.CredentialName, t.CACredentialName)
			add(t.CredentialNames...)
		}
	}
	for _, cl := range cfg.Clusters {
		if cl.Policy != nil && cl.Policy.TLS != nil {
			add(cl.Policy.TLS.CredentialName)
		}
	}
	slices.Sort(creds)
	w.Credentials = slices.Compact(creds)
	return w
}
