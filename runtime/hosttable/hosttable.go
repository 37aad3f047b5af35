// Package hosttable provides the ingress's virtual-host lookup: exact hosts
// through a minimal perfect hash table computed at build time (codegen/mph),
// wildcard hosts by longest suffix through a second table, then the
// catch-all "*".
//
// A lookup hashes the Host header once per candidate (folding ASCII case
// inside the hash loop, so no lower-cased copy is made), reads one pilot,
// computes one slot and compares one stored key. It never allocates and its
// cost does not depend on the number of hosts.
package hosttable

// Table maps lower-case keys to values through a minimal perfect hash in the
// PTHash/PtrHash style. codegen/mph builds it and writes it into the
// generated source as a literal, so every field is a plain value.
//
// Layout, for n keys:
//
//	h      = Hash(key, Seed)
//	bucket = Bucket(h, len(Pilots))         keys are spread over ~n/4 buckets
//	slot   = Slot(h, Pilots[bucket], m)     m = n + len(Remap) slots
//	slot   = Remap[slot-n]  if slot >= n    the few keys placed past n
//	Keys[slot] == key ? Values[slot]
//
// The builder picks, for each bucket, the smallest pilot that sends all of the
// bucket's keys to free slots. A few spare slots (m slightly above n) keep
// that search short with 16-bit pilots; Remap folds them back onto the holes
// below n, so Keys and Values hold exactly n entries. The pilots take half a
// byte per key and stay in cache for any realistic number of hosts.
type Table struct {
	// Seed is the hash seed the builder found to work (searched from 0).
	Seed uint64
	// Pilots holds one pilot per bucket.
	Pilots []uint16
	// Remap maps slot n+i to Remap[i] (a slot below n).
	Remap []uint32
	// Keys holds the lower-case key stored in each slot.
	Keys []string
	// Values holds the value of each slot's key.
	Values []int32
}

// Lookup returns the value stored for key, compared ASCII case-insensitively.
func (t *Table) Lookup(key string) (int32, bool) {
	n := len(t.Keys)
	if n == 0 {
		return 0, false
	}
	h := Hash(key, t.Seed)
	s := Slot(h, t.Pilots[Bucket(h, len(t.Pilots))], n+len(t.Remap))
	if s >= n {
		s = int(t.Remap[s-n])
	}
	if !equalFold(t.Keys[s], key) {
		return 0, false
	}
	return t.Values[s], true
}
