package analyze

import (
	"fmt"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// prefixCovered is the overlap check of Istio's
// analyzeUnreachableHTTPRules: a uri prefix match is ineffective
// (IST0131) when an earlier uri prefix match, itself a prefix of it,
// has the same port and the same (or, by Istio's reading, covering)
// method, authority, headers, query parameters and withoutHeaders.
// Matches after a rule without matches, and exact repeats, are left to
// unreachable.
func (r *reporter) prefixCovered(res *load.Resource, s map[string]any) {
	var list []prefixMatch
	seen := map[string]bool{}
	rules, _ := s["http"].([]any)
	catchAll := false
	for i, rv := range rules {
		rule, _ := rv.(map[string]any)
		matches, _ := rule["match"].([]any)
		if len(matches) == 0 || catchAll {
			// The rules after are unreachable (IST0130): no need to
			// say their matches are covered too.
			break
		}
		for j, mv := range matches {
			m, _ := mv.(map[string]any)
			catchAll = catchAll || isCatchAll(m)
			key := matchKey(m)
			if seen[key] {
				continue
			}
			seen[key] = true
			if pm, ok := newPrefixMatch(m); ok {
				pm.path = fmt.Sprintf("spec.http[%d].match[%d]", i, j)
				list = append(list, pm)
			}
		}
	}
	for a := range list {
		for b := a + 1; b < len(list); b++ {
			if list[a].prefix != list[b].prefix && list[a].covers(&list[b]) {
				r.report(diag.Note, diag.CodeIneffectiveMatch, res, list[b].path+".uri.prefix", "move it before "+list[a].path+", or remove it",
					fmt.Sprintf("match is ineffective: the uri prefix %q of %s before it matches every request it matches", list[a].prefix, list[a].path))
			}
		}
	}
}

// prefixMatch is what Istio compares of a match with a uri prefix:
// exact and prefix conditions as "exact:v" / "prefix:v", "" otherwise.
type prefixMatch struct {
	path, prefix, method, authority string
	port                            float64
	headers, query, without         map[string]string
}

func newPrefixMatch(m map[string]any) (prefixMatch, bool) {
	uri, _ := m["uri"].(map[string]any)
	p, _ := uri["prefix"].(string)
	if p == "" {
		return prefixMatch{}, false
	}
	pm := prefixMatch{prefix: p, method: exactOrPrefix(m["method"]), authority: exactOrPrefix(m["authority"])}
	if pm.method == "" {
		pm.method = "exact:GET" // Istio's default when the match names no method
	}
	pm.port, _ = m["port"].(float64)
	conds := func(k string) map[string]string {
		out := map[string]string{}
		mm, _ := m[k].(map[string]any)
		for name, v := range mm {
			out[name] = exactOrPrefix(v)
		}
		return out
	}
	pm.headers, pm.query, pm.without = conds("headers"), conds("queryParams"), conds("withoutHeaders")
	return pm, true
}

func exactOrPrefix(v any) string {
	sm, _ := v.(map[string]any)
	if e, _ := sm["exact"].(string); e != "" {
		return "exact:" + e
	}
	if p, _ := sm["prefix"].(string); p != "" {
		return "prefix:" + p
	}
	return ""
}

// covers is Istio's coveredValidation, with its comparisons as written.
func (a *prefixMatch) covers(b *prefixMatch) bool {
	if !strings.HasPrefix(b.prefix, a.prefix) || a.port != b.port {
		return false
	}
	if !strings.HasPrefix(a.method, b.method) || !strings.HasPrefix(a.authority, b.authority) {
		return false
	}
	same := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !strings.HasPrefix(v, w) {
				return false
			}
		}
		return true
	}
	return same(a.headers, b.headers) && same(a.query, b.query) && same(a.without, b.without)
}
