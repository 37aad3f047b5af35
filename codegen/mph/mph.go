// Package mph builds the minimal perfect hash tables of runtime/hosttable
// at build time and writes them as Go literals.
package mph

import (
	"fmt"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// Build returns a table holding keys (lower-case, distinct) with values.
//
// PLACEHOLDER: keeps the input order; to be replaced by the perfect hash.
func Build(keys []string, values []int32) (hosttable.Table, error) {
	if len(keys) != len(values) {
		return hosttable.Table{}, fmt.Errorf("%d keys but %d values", len(keys), len(values))
	}
	return hosttable.Table{Keys: append([]string(nil), keys...), Values: append([]int32(nil), values...)}, nil
}
