package hosttable

import (
	"math/rand/v2"
	"testing"
)

// lowerASCII is the reference case folding: only 'A'..'Z' change.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestFoldEveryByteInEveryLane(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for lane := range 8 {
		for c := range 256 {
			var in [8]byte
			for i := range in {
				in[i] = byte(r.Uint32())
			}
			in[lane] = byte(c)
			want := load64(lowerASCII(string(in[:])))
			if got := fold(load64(string(in[:]))); got != want {
				t.Fatalf("fold(% x) = %#016x, want %#016x", in, got, want)
			}
		}
	}
}

// randomBytes returns a string of n bytes drawn from alphabet.
func randomBytes(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

const mixedCase = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-@[`{\x80\xc1\xe1\xff"

func TestHashFoldsASCIICaseOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for n := range 41 {
		for range 50 {
			s := randomBytes(r, n, mixedCase)
			if Hash(s, 7) != Hash(lowerASCII(s), 7) {
				t.Fatalf("Hash(%q) != Hash(%q)", s, lowerASCII(s))
			}
		}
	}
	// Bytes next to the letters, and non-ASCII bytes whose low 7 bits are
	// letters, must not fold.
	for _, p := range [][2]string{{"@", "`"}, {"[", "{"}, {"\xc1", "\xe1"}, {"x\xdax", "x\xfax"}} {
		if Hash(p[0], 0) == Hash(p[1], 0) {
			t.Errorf("Hash(%q) == Hash(%q)", p[0], p[1])
		}
	}
}

func TestHashSeesEveryByteAndTheLength(t *testing.T) {
	// Strings that a sloppy tail load would confuse: zero padding, one
	// changed byte at every position, every length with overlapping loads.
	seen := map[uint64]string{}
	add := func(s string) {
		h := Hash(s, 0)
		if prev, ok := seen[h]; ok && prev != s {
			t.Fatalf("Hash(%q) == Hash(%q)", s, prev)
		}
		seen[h] = s
	}
	base := "abcdefghijklmnopqrstuvwxyz0123456789"
	for n := 0; n <= len(base); n++ {
		add(base[:n])
		add(base[:n] + "\x00")
		for i := 0; i < n; i++ {
			add(base[:i] + "_" + base[i+1:n])
		}
	}
	if Hash(base, 0) == Hash(base, 1) {
		t.Error("the seed does not change the hash")
	}
}

func TestEqualFold(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for n := range 41 {
		for range 100 {
			s := randomBytes(r, n, mixedCase)
			lower := lowerASCII(s)
			if !equalFold(lower, s) {
				t.Fatalf("equalFold(%q, %q) = false", lower, s)
			}
			if n == 0 {
				continue
			}
			// Change one byte to anything that folds differently.
			i := r.IntN(n)
			b := []byte(s)
			for lowerASCII(string(b[i:i+1])) == lower[i:i+1] {
				b[i] = byte(r.Uint32())
			}
			if equalFold(lower, string(b)) {
				t.Fatalf("equalFold(%q, %q) = true", lower, b)
			}
			if equalFold(lower, s[:n-1]) || equalFold(lower, s+"a") {
				t.Fatalf("equalFold(%q, ...) ignores the length", lower)
			}
		}
	}
	if equalFold("\xe1", "\xc1") || equalFold("`", "@") {
		t.Error("equalFold folds bytes that are not letters")
	}
}
