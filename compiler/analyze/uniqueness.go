package analyze

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// unique reports the items of a list whose key repeats an earlier one:
// Istio's "must be unique" rules on ServiceEntry ports and
// DestinationRule subsets.
func (r *reporter) unique(res *load.Resource, spec any, list, key, what string) {
	s, _ := spec.(map[string]any)
	items, _ := s[list].([]any)
	seen := map[any]int{}
	for i, it := range items {
		m, _ := it.(map[string]any)
		k, ok := m[key]
		if !ok {
			continue
		}
		if first, dup := seen[k]; dup {
			r.report(diag.Error, diag.CodeValidation, res, fmt.Sprintf("spec.%s[%d].%s", list, i, key), "make each "+what+" unique",
				fmt.Sprintf("duplicate %s %v: also spec.%s[%d]", what, k, list, first))
			continue
		}
		seen[k] = i
	}
}
