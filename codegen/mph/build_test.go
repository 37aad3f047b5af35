package mph

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

const hostBytes = "abcdefghijklmnopqrstuvwxyz0123456789.-"

// randomKeys returns n distinct host-like keys.
func randomKeys(r *rand.Rand, n int) []string {
	seen := make(map[string]bool, n)
	keys := make([]string, 0, n)
	for len(keys) < n {
		b := make([]byte, 1+r.IntN(40))
		for i := range b {
			b[i] = hostBytes[r.IntN(len(hostBytes))]
		}
		if k := string(b); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// build builds a table mapping keys[i] to i*7+3 and checks that it holds
// exactly those keys.
func build(t *testing.T, keys []string) hosttable.Table {
	t.Helper()
	values := make([]int32, len(keys))
	for i := range values {
		values[i] = int32(i*7 + 3)
	}
	tab, err := Build(keys, values)
	if err != nil {
		t.Fatalf("Build(%d keys): %v", len(keys), err)
	}
	checkTable(t, tab, keys, values)
	return tab
}

// checkTable checks that tab is minimal and maps exactly keys to values,
// probing it with the keys, their case variants and near misses.
func checkTable(t *testing.T, tab hosttable.Table, keys []string, values []int32) {
	t.Helper()
	n := len(keys)
	want := make(map[string]int32, n)
	for i, k := range keys {
		want[k] = values[i]
	}
	if len(tab.Keys) != n || len(tab.Values) != n {
		t.Fatalf("%d keys, %d values in the table, want %d of each", len(tab.Keys), len(tab.Values), n)
	}
	for _, k := range tab.Keys {
		if _, ok := want[k]; !ok {
			t.Fatalf("table holds %q, which is not a key", k)
		}
	}
	for i, s := range tab.Remap {
		if int(s) >= n {
			t.Fatalf("Remap[%d] = %d, beyond %d keys", i, s, n)
		}
	}

	probe := func(q string) {
		v, ok := tab.Lookup(q)
		wv, wok := want[asciiCase(q, 'A', 'a')]
		if ok != wok || v != wv {
			t.Fatalf("Lookup(%q) = %d, %v; want %d, %v", q, v, ok, wv, wok)
		}
	}
	r := rand.New(rand.NewPCG(uint64(n), 9))
	for i, k := range keys {
		if v, ok := tab.Lookup(k); !ok || v != values[i] {
			t.Fatalf("Lookup(%q) = %d, %v; want %d, true", k, v, ok, values[i])
		}
		probe(asciiCase(k, 'a', 'A'))
		if len(k) == 0 {
			continue
		}
		probe(k[:len(k)-1])
		probe(k[1:])
		probe(k + "a")
		probe("a" + k)
		b := []byte(k)
		j := r.IntN(len(b))
		b[j] ^= byte(1 + r.IntN(255))
		probe(string(b))
	}
	for range 1000 {
		probe(randomKeys(r, 1)[0])
	}
}

// asciiCase moves the ASCII letters of s from the case starting at from to
// the one at to; unlike strings.ToLower it leaves other bytes alone, as the
// table does.
func asciiCase(s string, from, to byte) string {
	b := []byte(s)
	for i, c := range b {
		if from <= c && c < from+26 {
			b[i] = c - from + to
		}
	}
	return string(b)
}

func TestBuildRandomKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 2, 3, 10, 31, 32, 33, 1000, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tab := build(t, randomKeys(r, n))
			if want := (n + keysPerBucket - 1) / keysPerBucket; len(tab.Pilots) != want {
				t.Errorf("%d pilots, want %d", len(tab.Pilots), want)
			}
		})
	}
}

func TestBuildAdversarialKeys(t *testing.T) {
	sequential := make([]string, 20000)
	for i := range sequential {
		sequential[i] = fmt.Sprintf("h%07d.example.com", i)
	}
	// Keys that differ only in their last byte, after a long shared prefix,
	// and only in their first byte, before a long shared suffix.
	var lastByte, firstByte, allBytes []string
	long := strings.Repeat("prefix.", 40)
	for c := range 256 {
		if 'A' <= c && c <= 'Z' {
			continue
		}
		b := string([]byte{byte(c)})
		lastByte = append(lastByte, long+b)
		firstByte = append(firstByte, b+long)
		allBytes = append(allBytes, b)
	}
	// Every length from 0 to 64 of one repeated byte: overlapping loads
	// must still tell them apart.
	var lengths []string
	for n := range 65 {
		lengths = append(lengths, strings.Repeat("a", n), strings.Repeat("\x00", n+1))
	}
	for name, keys := range map[string][]string{
		"sequential": sequential,
		"last byte":  lastByte,
		"first byte": firstByte,
		"one byte":   allBytes,
		"lengths":    lengths,
		"empty":      {""},
	} {
		t.Run(name, func(t *testing.T) { build(t, keys) })
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	keys := randomKeys(r, 5000)
	values := make([]int32, len(keys))
	for i := range values {
		values[i] = int32(i)
	}
	want, err := Build(keys, values)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		perm := r.Perm(len(keys))
		k2 := make([]string, len(keys))
		v2 := make([]int32, len(keys))
		for i, p := range perm {
			k2[i], v2[i] = keys[p], values[p]
		}
		got, err := Build(k2, v2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatal("Build on shuffled keys gave a different table")
		}
		if Literal(got, "hosttable") != Literal(want, "hosttable") {
			t.Fatal("Literal differs for the same table")
		}
	}
}

func TestBuildErrors(t *testing.T) {
	for _, c := range []struct {
		keys   []string
		values []int32
		want   string
	}{
		{[]string{"a", "b"}, []int32{1}, "2 keys but 1 values"},
		{[]string{"a.com", "b.com", "a.com"}, []int32{1, 2, 3}, `duplicate key "a.com"`},
		{[]string{"a.com", "B.com"}, []int32{1, 2}, `key "B.com" is not lower-case`},
	} {
		_, err := Build(c.keys, c.values)
		if err == nil || err.Error() != c.want {
			t.Errorf("Build(%q, %v): error %v, want %q", c.keys, c.values, err, c.want)
		}
	}
}

func TestBuildEmpty(t *testing.T) {
	tab, err := Build(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab, hosttable.Table{}) {
		t.Errorf("Build(nil) = %+v, want the zero Table", tab)
	}
	if _, ok := tab.Lookup(""); ok {
		t.Error("empty table finds the empty key")
	}
}

func TestPlaceFailsOnHashCollision(t *testing.T) {
	// Keys with equal hashes always share a slot: the seed must change.
	p := newPlacer(3)
	copy(p.hashes, []uint64{5, 9, 5})
	if p.place() {
		t.Error("place succeeded with two equal hashes")
	}
	copy(p.hashes, []uint64{5, 9, 6})
	if !p.place() {
		t.Error("place failed with distinct hashes")
	}
}
