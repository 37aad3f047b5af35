package runtime

import (
	"net/http"
	"slices"
)

// An index of the routes of a virtual host by the path they need, so that
// a virtual host of thousands of rules does not try them all: a request
// tries only the routes whose path condition its path can meet, merged in
// route order with the routes the index cannot rule out. First match still
// wins, as Envoy's in-order scan.
//
// What the index knows of a route comes from its matches' path conditions
// (a route's matches are OR'ed, so it is a candidate when any match may
// hold):
//   - exact (case-sensitive): the path must equal it (a map);
//   - prefix (case-sensitive): the path must begin with it (a trie);
//   - regex: the path must begin with the regex's literal prefix, when the
//     parse shows one (lazyregex.go: literalPrefix), so "/r/7/[0-9]+" is
//     only run on paths under "/r/7/" (the same trie).
//
// A route with a match the index cannot characterise (no path condition,
// ignoreUriCase, an empty prefix, a regex without a literal prefix) is
// always a candidate.

// routeIndex is built when a virtual host has at least indexMin routes the
// index characterises.
type routeIndex struct {
	// routes holds every list of route indexes back to back, each list
	// ascending; the lists are spans of it, so a request keeps a cursor
	// per list in two int32s.
	routes   []int32
	byPath   map[string]span // exact path -> its routes
	prefixes prefixTrie      // path prefixes -> their routes
	others   span            // the routes always tried
}

// span is the list routeIndex.routes[from:to].
type span struct{ from, to int32 }

// addList appends list to ix.routes and returns its span.
func (ix *routeIndex) addList(list []int32) span {
	from := int32(len(ix.routes))
	ix.routes = append(ix.routes, list...)
	return span{from, int32(len(ix.routes))}
}

const indexMin = 16

// maxCandidateLists bounds the route lists one request merges: the others,
// the exact path's and one per indexed prefix of the path. A path with more
// indexed prefixes than fit is served by a plain scan, which gives the same
// answer.
const maxCandidateLists = 32

// buildIndex sets vh.index, or clears it when too few routes benefit. The
// matches must be prepared: a regex's literal prefix comes from its parse.
func (vh *VirtualHost) buildIndex() {
	setIfChanged(&vh.index, nil)
	if len(vh.Routes) < indexMin {
		return
	}
	n := 0
	for i := range vh.Routes {
		if indexable(&vh.Routes[i]) {
			n++
		}
	}
	if n < indexMin {
		return
	}
	byPath := map[string][]int32{}
	var others []int32
	var tb trieBuilder
	for i := range vh.Routes {
		rt := &vh.Routes[i]
		ri := int32(i)
		if !indexable(rt) {
			others = append(others, ri)
			continue
		}
		for mi := range rt.Matches {
			m := &rt.Matches[mi]
			switch m.Path.Kind {
			case MatchExact:
				byPath[m.Path.Value] = appendRoute(byPath[m.Path.Value], ri)
			case MatchPrefix:
				tb.add(m.Path.Value, ri)
			case MatchRegex:
				tb.add(registeredRegex(m.Path.Value).prefix, ri)
			}
		}
	}
	ix := &routeIndex{byPath: make(map[string]span, len(byPath))}
	ix.others = ix.addList(others)
	for p, list := range byPath {
		ix.byPath[p] = ix.addList(list)
	}
	ix.prefixes = tb.build(ix)
	ix.routes = slices.Clip(ix.routes)
	vh.index = ix
}

// appendRoute appends ri unless it is already last: a route whose matches
// share a key is listed once.
func appendRoute(list []int32, ri int32) []int32 {
	if len(list) > 0 && list[len(list)-1] == ri {
		return list
	}
	return append(list, ri)
}

// indexable reports whether every match of rt has a path condition the
// index characterises.
func indexable(rt *Route) bool {
	if len(rt.Matches) == 0 {
		return false
	}
	for i := range rt.Matches {
		m := &rt.Matches[i]
		switch m.Path.Kind {
		case MatchExact:
			if m.IgnoreCase {
				return false
			}
		case MatchPrefix:
			if m.IgnoreCase || m.Path.Value == "" {
				return false
			}
		case MatchRegex:
			// Never case-folded, so ignoreUriCase does not matter.
			if l := registeredRegex(m.Path.Value); l == nil || l.prefix == "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// selectIndexed is selectPath over the index: the candidate lists merged
// in route order. It allocates nothing.
func (vh *VirtualHost) selectIndexed(r *http.Request, path string) int {
	ix := vh.index
	var lists [maxCandidateLists]span
	n := 0
	if ix.others.from < ix.others.to {
		lists[n] = ix.others
		n++
	}
	if l, ok := ix.byPath[path]; ok {
		lists[n] = l
		n++
	}
	n, ok := ix.prefixes.collect(path, &lists, n)
	if !ok {
		return vh.selectScan(r, path)
	}
	if n == 1 {
		l := lists[0]
		if int(l.to-l.from) == len(vh.Routes) {
			// Every route is a candidate (a table of rules under one
			// prefix): the plain scan is the same, with less to load.
			return vh.selectScan(r, path)
		}
		for _, i := range ix.routes[l.from:l.to] {
			if vh.Routes[i].accepts(r, path) {
				return int(i)
			}
		}
		return -1
	}
	last := int32(-1)
	for {
		best, bi := -1, int32(0)
		for k := 0; k < n; k++ {
			if l := lists[k]; l.from < l.to && (best < 0 || ix.routes[l.from] < bi) {
				best, bi = k, ix.routes[l.from]
			}
		}
		if best < 0 {
			return -1
		}
		i := bi
		lists[best].from++
		if i == last {
			continue // listed under two keys of its matches
		}
		last = i
		if vh.Routes[i].accepts(r, path) {
			return int(i)
		}
	}
}

// selectScan is selectPath without the index: the routes in order.
func (vh *VirtualHost) selectScan(r *http.Request, path string) int {
	for i := range vh.Routes {
		if vh.Routes[i].accepts(r, path) {
			return i
		}
	}
	return -1
}

// prefixTrie maps strings to route lists; collect finds the lists of every
// key that is a prefix of a path in one walk over the path. Nodes are flat:
// the children of a node are the edges [first, first+count), sorted by
// label, so a step is a binary search over a few bytes.
type prefixTrie struct {
	nodes  []trieNode
	labels []byte  // edge labels
	kids   []int32 // edge targets, as labels
}

type trieNode struct {
	first, count int32
	routes       span // routes whose key ends here
}

// collect appends to lists[n:] the route lists of the keys that are
// prefixes of path and returns the new count, or false when they do not fit.
func (t *prefixTrie) collect(path string, lists *[maxCandidateLists]span, n int) (int, bool) {
	if len(t.nodes) == 0 {
		return n, true
	}
	node := int32(0)
	for i := 0; ; i++ {
		nd := &t.nodes[node]
		if nd.routes.from < nd.routes.to {
			if n == len(lists) {
				return n, false
			}
			lists[n] = nd.routes
			n++
		}
		if i == len(path) || nd.count == 0 {
			return n, true
		}
		c := path[i]
		lo, hi := nd.first, nd.first+nd.count
		for lo < hi {
			m := int32(uint32(lo+hi) >> 1)
			if t.labels[m] < c {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if lo == nd.first+nd.count || t.labels[lo] != c {
			return n, true
		}
		node = t.kids[lo]
	}
}

// trieBuilder collects keys in a pointer trie, then flattens it.
type trieBuilder struct {
	root *builderNode
}

type builderNode struct {
	kids   map[byte]*builderNode
	routes []int32
}

// add lists route ri under key; routes are added in ascending order.
func (b *trieBuilder) add(key string, ri int32) {
	if b.root == nil {
		b.root = &builderNode{}
	}
	nd := b.root
	for i := 0; i < len(key); i++ {
		next := nd.kids[key[i]]
		if next == nil {
			if nd.kids == nil {
				nd.kids = map[byte]*builderNode{}
			}
			next = &builderNode{}
			nd.kids[key[i]] = next
		}
		nd = next
	}
	nd.routes = appendRoute(nd.routes, ri)
}

// build flattens the trie breadth first: a node's children are numbered
// together, so their edges are contiguous. The route lists go to ix.
func (b *trieBuilder) build(ix *routeIndex) prefixTrie {
	var t prefixTrie
	if b.root == nil {
		return t
	}
	queue := []*builderNode{b.root}
	t.nodes = append(t.nodes, trieNode{routes: ix.addList(b.root.routes)})
	for qi := 0; qi < len(queue); qi++ {
		nd := queue[qi]
		labels := make([]byte, 0, len(nd.kids))
		for c := range nd.kids {
			labels = append(labels, c)
		}
		slices.Sort(labels)
		t.nodes[qi].first, t.nodes[qi].count = int32(len(t.labels)), int32(len(labels))
		for _, c := range labels {
			kid := nd.kids[c]
			t.labels = append(t.labels, c)
			t.kids = append(t.kids, int32(len(t.nodes)))
			t.nodes = append(t.nodes, trieNode{routes: ix.addList(kid.routes)})
			queue = append(queue, kid)
		}
	}
	return t
}
