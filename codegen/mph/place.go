package mph

import (
	"math"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// placer holds the working arrays of one construction; they are reused from
// one seed to the next.
type placer struct {
	n, m    int      // keys, slots (m - n spare slots)
	hashes  []uint64 // per key
	bucket  []int32  // per key
	start   []int32  // per bucket: its keys are members[start[b]:start[b+1]]
	members []int32  // key indexes grouped by bucket
	byLoad  []int32  // bucket indexes, largest bucket first
	pilots  []uint16 // per bucket
	slots   []uint32 // per key
	taken   []uint64 // bitset over the m slots
}

func newPlacer(n int) *placer {
	nb := (n + keysPerBucket - 1) / keysPerBucket
	m := n + n>>spareShift
	return &placer{
		n:       n,
		m:       m,
		hashes:  make([]uint64, n),
		bucket:  make([]int32, n),
		start:   make([]int32, nb+1),
		members: make([]int32, n),
		byLoad:  make([]int32, nb),
		pilots:  make([]uint16, nb),
		slots:   make([]uint32, n),
		taken:   make([]uint64, (m+63)/64),
	}
}

// place finds a pilot for every bucket under the current hashes, or reports
// that some bucket has none.
func (p *placer) place() bool {
	p.group()
	clear(p.pilots)
	clear(p.taken)
	for _, b := range p.byLoad {
		keys := p.members[p.start[b]:p.start[b+1]]
		if len(keys) == 0 {
			break // byLoad is sorted: only empty buckets follow
		}
		pilot, ok := p.fit(keys)
		if !ok {
			return false
		}
		p.pilots[b] = pilot
	}
	return true
}

// group sorts the keys into buckets (a counting sort) and orders the buckets
// by size, largest first, ties by index: big buckets are placed while the
// table is still empty, when a fitting pilot is easy to find.
func (p *placer) group() {
	nb := len(p.pilots)
	clear(p.start)
	for i, h := range p.hashes {
		b := int32(hosttable.Bucket(h, nb))
		p.bucket[i] = b
		p.start[b+1]++
	}
	maxLoad := int32(0)
	for b := range nb {
		maxLoad = max(maxLoad, p.start[b+1])
		p.start[b+1] += p.start[b]
	}
	next := make([]int32, nb)
	copy(next, p.start)
	for i, b := range p.bucket {
		p.members[next[b]] = int32(i)
		next[b]++
	}

	// Counting sort of the buckets by load, descending.
	first := make([]int32, maxLoad+2) // first[maxLoad-load]: where that load begins
	for b := range nb {
		first[maxLoad-(p.start[b+1]-p.start[b])+1]++
	}
	for i := 1; i < len(first); i++ {
		first[i] += first[i-1]
	}
	for b := range nb {
		k := maxLoad - (p.start[b+1] - p.start[b])
		p.byLoad[first[k]] = int32(b)
		first[k]++
	}
}

// fit returns the smallest pilot that sends every key of a bucket to a free
// slot, distinct from each other, and marks those slots taken.
func (p *placer) fit(keys []int32) (uint16, bool) {
	for pilot := 0; pilot <= math.MaxUint16; pilot++ {
		placed := 0
		for _, k := range keys {
			s := hosttable.Slot(p.hashes[k], uint16(pilot), p.m)
			if p.taken[s>>6]&(1<<(s&63)) != 0 {
				break
			}
			p.taken[s>>6] |= 1 << (s & 63)
			p.slots[k] = uint32(s)
			placed++
		}
		if placed == len(keys) {
			return uint16(pilot), true
		}
		for _, k := range keys[:placed] {
			s := p.slots[k]
			p.taken[s>>6] &^= 1 << (s & 63)
		}
	}
	return 0, false
}

// remap sets t.Remap so that the keys placed in the spare slots at n and
// above move to the holes below n, and returns every key's final slot.
func (p *placer) remap(t *hosttable.Table) []uint32 {
	if p.m == p.n {
		return p.slots
	}
	t.Remap = make([]uint32, p.m-p.n)
	hole := 0
	for s := p.n; s < p.m; s++ {
		if p.taken[s>>6]&(1<<(s&63)) == 0 {
			continue // no key here: the entry stays 0, a valid slot whose key cannot match
		}
		for p.taken[hole>>6]&(1<<(hole&63)) != 0 {
			hole++
		}
		t.Remap[s-p.n] = uint32(hole)
		hole++
	}
	for k, s := range p.slots {
		if int(s) >= p.n {
			p.slots[k] = t.Remap[int(s)-p.n]
		}
	}
	return p.slots
}
