// Package mph builds the minimal perfect hash tables of runtime/hosttable at
// build time and writes them as Go literals for the generated source.
//
// Construction follows PTHash/PtrHash: hash every key once, spread the keys
// over about n/4 buckets, then, from the largest bucket down, give each
// bucket the smallest 16-bit pilot that sends all of its keys to free slots.
// With ~3% spare slots most searches end after a few tries, so apart from
// the sort that finds duplicates a build is linear in the number of keys (a
// million keys take about half a second). Seeds and pilots are searched from
// 0 upward and nothing depends on the input order, so the same keys always
// give the same table.
package mph

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

const (
	// keysPerBucket is the average bucket size: larger buckets mean fewer
	// pilots but longer searches for the buckets placed last.
	keysPerBucket = 4
	// spareShift gives n>>spareShift spare slots (3%). Below 32 keys there
	// are none: with so few slots the search for the last ones stays short.
	spareShift = 5
	// maxSeeds bounds the seed search. A seed fails only when a bucket finds
	// no pilot at all, in practice when two keys share a 64-bit hash.
	maxSeeds = 64
	// maxKeys keeps slot numbers within Remap's uint32.
	maxKeys = math.MaxInt32
)

// Build returns a table holding keys (lower-case, distinct) with values:
// Lookup(keys[i]) returns values[i].
func Build(keys []string, values []int32) (hosttable.Table, error) {
	if len(keys) != len(values) {
		return hosttable.Table{}, fmt.Errorf("%d keys but %d values", len(keys), len(values))
	}
	if len(keys) > maxKeys {
		return hosttable.Table{}, fmt.Errorf("%d keys, more than the %d a table holds", len(keys), maxKeys)
	}
	for _, k := range keys {
		if hasUpper(k) {
			return hosttable.Table{}, fmt.Errorf("key %q is not lower-case", k)
		}
	}
	if len(keys) == 0 {
		return hosttable.Table{}, nil
	}

	// Sorting finds duplicates and makes the input order irrelevant.
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	sorted := make([]string, len(keys))
	for i, o := range order {
		sorted[i] = keys[o]
		if i > 0 && sorted[i] == sorted[i-1] {
			return hosttable.Table{}, fmt.Errorf("duplicate key %q", sorted[i])
		}
	}

	n := len(sorted)
	p := newPlacer(n)
	for seed := uint64(0); seed < maxSeeds; seed++ {
		hashes := p.hashes
		for i, k := range sorted {
			hashes[i] = hosttable.Hash(k, seed)
		}
		if !p.place() {
			continue
		}
		t := hosttable.Table{
			Seed:   seed,
			Pilots: p.pilots,
			Keys:   make([]string, n),
			Values: make([]int32, n),
		}
		slots := p.remap(&t)
		for i, s := range slots {
			t.Keys[s] = sorted[i]
			t.Values[s] = values[order[i]]
		}
		return t, nil
	}
	return hosttable.Table{}, fmt.Errorf("no perfect hash for %d keys after %d seeds", n, maxSeeds)
}

// hasUpper reports whether s holds an upper-case ASCII letter; such a key
// could never be found, since lookups fold the query to lower case.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
