package runtime

import "net/http"

// An index of exact-path routes, so that a virtual host of thousands of
// `uri: {exact: ...}` rules does not try them all: the routes a path can
// take are those whose exact path is the path, merged in order with the
// routes the index cannot rule out. First match still wins.

// exactIndex is built when a virtual host has at least indexMin routes
// with a single case-sensitive exact-path match.
type exactIndex struct {
	byPath map[string][]int32 // exact path -> route indexes, ascending
	others []int32            // the other routes, ascending
}

const indexMin = 16

// buildIndex sets vh.index, or clears it when too few routes benefit.
func (vh *VirtualHost) buildIndex() {
	vh.index = nil
	n := 0
	for i := range vh.Routes {
		if _, ok := exactPathOf(&vh.Routes[i]); ok {
			n++
		}
	}
	if n < indexMin {
		return
	}
	ix := &exactIndex{byPath: make(map[string][]int32, n)}
	for i := range vh.Routes {
		if p, ok := exactPathOf(&vh.Routes[i]); ok {
			ix.byPath[p] = append(ix.byPath[p], int32(i))
		} else {
			ix.others = append(ix.others, int32(i))
		}
	}
	vh.index = ix
}

// exactPathOf returns the path a route requires exactly, when it has one
// match whose path condition is a case-sensitive exact path.
func exactPathOf(rt *Route) (string, bool) {
	if len(rt.Matches) != 1 {
		return "", false
	}
	m := &rt.Matches[0]
	if m.Path.Kind != MatchExact || m.IgnoreCase {
		return "", false
	}
	return m.Path.Value, true
}

// selectIndexed is selectPath over the index: the candidate lists merged
// in route order. It allocates nothing.
func (vh *VirtualHost) selectIndexed(r *http.Request, path string) int {
	ix := vh.index
	exact, others := ix.byPath[path], ix.others
	for len(exact) > 0 || len(others) > 0 {
		var i int32
		if len(others) == 0 || (len(exact) > 0 && exact[0] < others[0]) {
			i, exact = exact[0], exact[1:]
		} else {
			i, others = others[0], others[1:]
		}
		if vh.Routes[i].accepts(r, path) {
			return int(i)
		}
	}
	return -1
}
