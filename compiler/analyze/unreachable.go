package analyze

import (
	"encoding/json"
	"fmt"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// unreachable finds HTTP rules no request can reach, as Istio's
// analyzeUnreachableHTTPRules does: a rule after one without matches (or
// with a catch-all match) is unreachable (IST0130); a match identical to
// an earlier one is ineffective (IST0131), and a rule whose matches all
// are is unreachable.
func (r *reporter) unreachable(res *load.Resource, spec any) {
	s, _ := spec.(map[string]any)
	rules, _ := s["http"].([]any)
	catchAll := ""
	seen := map[string]string{}
	for i, rv := range rules {
		rule := fmt.Sprintf("spec.http[%d]", i)
		if catchAll != "" {
			r.report(diag.Warning, diag.CodeUnreachableRule, res, rule, "move the rule before "+catchAll+", or give "+catchAll+" a match",
				"rule is unreachable: "+catchAll+" before it matches every request")
			continue
		}
		m, _ := rv.(map[string]any)
		matches, _ := m["match"].([]any)
		if len(matches) == 0 {
			catchAll = rule
			continue
		}
		dups := 0
		for j, mv := range matches {
			match, _ := mv.(map[string]any)
			key := matchKey(match)
			path := fmt.Sprintf("%s.match[%d]", rule, j)
			if first, ok := seen[key]; ok {
				dups++
				r.report(diag.Note, diag.CodeIneffectiveMatch, res, path, "remove it", "match is ineffective: it repeats "+first)
				continue
			}
			seen[key] = path
			if isCatchAll(match) {
				catchAll = rule
			}
		}
		if dups == len(matches) {
			r.report(diag.Warning, diag.CodeUnreachableRule, res, rule, "remove the rule, or change its matches",
				"rule is unreachable: every match repeats an earlier one")
		}
	}
}

// matchKey is a match's JSON without its name, the identity Istio uses.
func matchKey(m map[string]any) string {
	c := make(map[string]any, len(m))
	for k, v := range m {
		if k != "name" {
			c[k] = v
		}
	}
	b, _ := json.Marshal(c) // maps marshal with sorted keys
	return string(b)
}

// isCatchAll reports whether a match accepts every request: no condition
// but a uri prefix "/" or regex "*" / ".*", as in Istio.
func isCatchAll(m map[string]any) bool {
	for k, v := range m {
		switch k {
		case "name":
		case "uri":
			u, _ := v.(map[string]any)
			if len(u) != 1 {
				return false
			}
			if u["prefix"] == "/" || u["regex"] == "*" || u["regex"] == ".*" {
				continue
			}
			return false
		default:
			return false
		}
	}
	return true
}
