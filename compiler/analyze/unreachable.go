package analyze

import (
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// unreachable finds HTTP rules no request can reach, as Istio's
// analyzeUnreachableHTTPRules does: a rule after one without matches (or
// with a catch-all match) is unreachable (IST0130); a match identical to
// an earlier one is ineffective (IST0131), and a rule whose matches all
// are is unreachable.
func (r *reporter) unreachable(res *load.Resource) {
	rules, err := res.Value.LookupPath(cue.ParsePath("spec.http")).List()
	if err != nil {
		return
	}
	catchAll := ""
	seen := map[string]string{}
	for i := 0; rules.Next(); i++ {
		rule := fmt.Sprintf("spec.http[%d]", i)
		if catchAll != "" {
			r.report(diag.Warning, diag.CodeUnreachableRule, res, rule, "move the rule before "+catchAll+", or give "+catchAll+" a match",
				"rule is unreachable: "+catchAll+" before it matches every request")
			continue
		}
		matches, err := rules.Value().LookupPath(cue.ParsePath("match")).List()
		if err != nil {
			catchAll = rule
			continue
		}
		n, dups := 0, 0
		for j := 0; matches.Next(); j++ {
			n++
			m := matches.Value()
			key := matchKey(m)
			path := fmt.Sprintf("%s.match[%d]", rule, j)
			if first, ok := seen[key]; ok {
				dups++
				r.report(diag.Note, diag.CodeIneffectiveMatch, res, path, "remove it", "match is ineffective: it repeats "+first)
				continue
			}
			seen[key] = path
			if isCatchAll(m) {
				catchAll = rule
			}
		}
		if n == 0 {
			catchAll = rule
		} else if dups == n {
			r.report(diag.Warning, diag.CodeUnreachableRule, res, rule, "remove the rule, or change its matches",
				"rule is unreachable: every match repeats an earlier one")
		}
	}
}

// matchKey is a match's JSON without its name, the identity Istio uses.
func matchKey(m cue.Value) string {
	b, err := m.MarshalJSON()
	if err != nil {
		return ""
	}
	var f map[string]any
	if json.Unmarshal(b, &f) != nil {
		return string(b)
	}
	delete(f, "name")
	out, _ := json.Marshal(f) // maps marshal with sorted keys
	return string(out)
}

// isCatchAll reports whether a match accepts every request: no condition
// but a uri prefix "/" or regex "*" / ".*", as in Istio.
func isCatchAll(m cue.Value) bool {
	it, err := m.Fields()
	if err != nil {
		return false
	}
	for it.Next() {
		switch it.Selector().Unquoted() {
		case "name":
		case "uri":
			u := it.Value()
			if s, err := u.LookupPath(cue.ParsePath("prefix")).String(); err == nil && s == "/" {
				continue
			}
			if s, err := u.LookupPath(cue.ParsePath("regex")).String(); err == nil && (s == "*" || s == ".*") {
				continue
			}
			return false
		default:
			return false
		}
	}
	return true
}
