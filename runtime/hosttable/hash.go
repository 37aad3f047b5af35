package hosttable

import "math/bits"

// Mixing constants: odd 64-bit values with well-spread bits (the golden
// ratio, the splitmix64 multipliers and one more of the same kind).
const (
	k0 = 0x9e3779b97f4a7c15
	k1 = 0xbf58476d1ce4e5b9
	k2 = 0x94d049bb133111eb
	k3 = 0xd6e8feb86659fd93
)

// Hash returns the 64-bit hash of s under seed with ASCII letters folded to
// lower case, so Hash("Example.COM", x) == Hash("example.com", x). The
// builder and the runtime both use it, so they cannot disagree.
//
// It reads eight bytes at a time, folds their case with a few word
// operations and mixes each word in with one 64x64->128 multiply; a host of
// up to 16 bytes costs four multiplies.
func Hash(s string, seed uint64) uint64 {
	h := mum(seed^k0, uint64(len(s))^k1)
	var w uint64
	switch n := len(s); {
	case n > 8:
		for t := s; len(t) > 8; t = t[8:] {
			h = mum(h^fold(load64(t)), k2)
		}
		// The last word overlaps the previous one; the length mixed in
		// above keeps that unambiguous.
		w = load64(s[n-8:])
	case n >= 4:
		w = uint64(load32(s)) | uint64(load32(s[n-4:]))<<32
	case n > 0:
		w = uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16
	}
	// A second multiply spreads the last word, which is all there is
	// for short keys, over every output bit.
	return mum(mum(h^fold(w), k3), k0)
}

// Bucket returns the bucket, in [0, buckets), of a key with hash h. It uses
// the top bits of h (a multiply-shift range reduction, no division).
func Bucket(h uint64, buckets int) int {
	hi, _ := bits.Mul64(h, uint64(buckets))
	return int(hi)
}

// Slot returns the slot, in [0, slots), of a key with hash h in a bucket
// with the given pilot. The keys of one bucket share the top bits of h (which
// picked the bucket) and differ in the rest; the multiply carries those bits
// up into the ones that pick the slot, and folding the product's halves
// together makes each pilot move the keys independently of each other.
func Slot(h uint64, pilot uint16, slots int) int {
	hi, _ := bits.Mul64(mum(h^uint64(pilot)*k0, k1), uint64(slots))
	return int(hi)
}

// mum multiplies a and b into 128 bits and folds the halves together.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// fold lower-cases the ASCII letters among the eight bytes of w at once: a
// byte gets 0x20 added when it is in 'A'..'Z'. Bytes >= 0x80 are left alone.
func fold(w uint64) uint64 {
	b := w &^ highs                                           // each byte < 0x80, so the adds below never carry
	upper := (b + (0x80-'A')*lows) &^ (b + (0x80-'Z'-1)*lows) // high bit: 'A' <= b <= 'Z'
	upper &^= w                                               // not for non-ASCII bytes
	return w | (upper&highs)>>2
}

// load64 reads s[0:8] little-endian; the compiler turns it into one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// load32 reads s[0:4] little-endian.
func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// equalFold reports whether s equals lower (which has no upper-case ASCII)
// ignoring ASCII case, eight bytes at a time.
func equalFold(lower, s string) bool {
	n := len(s)
	if len(lower) != n {
		return false
	}
	if n < 8 {
		for i := 0; i < n; i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[i] {
				return false
			}
		}
		return true
	}
	for i := 0; i < n-8; i += 8 {
		if fold(load64(s[i:])) != load64(lower[i:]) {
			return false
		}
	}
	return fold(load64(s[n-8:])) == load64(lower[n-8:])
}
