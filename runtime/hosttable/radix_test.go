package hosttable_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// radixRouter is the router written as a radix tree (a compressed trie) over
// the reversed host names, as a general-purpose proxy would index them: the
// walk from the last byte of the Host to the first meets every wildcard
// suffix on the way, so one pass finds the exact host and the longest
// wildcard. It folds ASCII case while walking and does not allocate. It is
// a benchmark baseline only.
type radixRouter struct{ root radixNode }

type radixNode struct {
	label    string // reversed, lower-case bytes of this edge
	children []*radixNode
	exact    int32 // value of the host that ends here, or -1
	wild     int32 // value of "*." + the host that ends here, or -1
}

func newRadixRouter(domains []string) *radixRouter {
	r := &radixRouter{root: radixNode{exact: -1, wild: -1}}
	for i, d := range domains {
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			r.insert(suffix).wild = int32(i)
		} else {
			r.insert(d).exact = int32(i)
		}
	}
	return r
}

func reverse(s string) string {
	b := []byte(strings.ToLower(s))
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// insert returns the node for host, splitting edges as needed.
func (r *radixRouter) insert(host string) *radixNode {
	key := reverse(host)
	n := &r.root
	for len(key) > 0 {
		var next *radixNode
		for _, c := range n.children {
			if c.label[0] == key[0] {
				next = c
				break
			}
		}
		if next == nil {
			leaf := &radixNode{label: key, exact: -1, wild: -1}
			n.children = append(n.children, leaf)
			return leaf
		}
		common := 0
		for common < len(key) && common < len(next.label) && key[common] == next.label[common] {
			common++
		}
		if common < len(next.label) {
			// Split next at common: a new inner node takes its place.
			inner := &radixNode{label: next.label[:common], exact: -1, wild: -1, children: []*radixNode{next}}
			next.label = next.label[common:]
			for i, c := range n.children {
				if c == next {
					n.children[i] = inner
				}
			}
			next = inner
		}
		n, key = next, key[common:]
	}
	return n
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (r *radixRouter) Lookup(host string) int32 {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	n := &r.root
	i := len(host) - 1 // next byte of host to match, walking backwards
	best := int32(-1)
	for {
		// n matched host[i+1:]. A wildcard here covers host when a dot
		// and at least one byte precede the suffix.
		if n.wild >= 0 && i >= 1 && host[i] == '.' {
			best = n.wild
		}
		if i < 0 {
			if n.exact >= 0 {
				return n.exact
			}
			return best
		}
		c := lower(host[i])
		var next *radixNode
		for _, ch := range n.children {
			if ch.label[0] == c {
				next = ch
				break
			}
		}
		if next == nil || len(next.label) > i+1 {
			return best
		}
		for k := 0; k < len(next.label); k++ {
			if lower(host[i-k]) != next.label[k] {
				return best
			}
		}
		n, i = next, i-len(next.label)
	}
}

// TestRadixRouter checks the baseline against the real router, so that the
// benchmark compares implementations that give the same answers.
func TestRadixRouter(t *testing.T) {
	set := newBenchSet(200)
	domains := append(set.domains, "*.example.com", "example.com", "*.team-3.example.com", "a.b.example.com")
	want := newRouter(t, domains...)
	got := newRadixRouter(domains)
	r := rand.New(rand.NewPCG(7, 7))
	queries := []string{"example.com", "x.example.com", "a.b.example.com", "A.B.EXAMPLE.COM:8080", "svc-1.team-3.example.com",
		"q.team-3.example.com", "team-3.example.com", ".example.com", "com", "", "[::1]:80", "a..example.com"}
	for _, kind := range []string{"exact", "upper", "wildcard", "miss"} {
		queries = append(queries, set.queries[kind][:50]...)
	}
	for range 100 {
		queries = append(queries, fmt.Sprintf("h%d.app-%d.example.net", r.IntN(10), r.IntN(300)))
	}
	for _, q := range queries {
		if g, w := got.Lookup(q), want.Lookup(q); g != w {
			t.Errorf("radix Lookup(%q) = %d, router says %d", q, g, w)
		}
	}
}
