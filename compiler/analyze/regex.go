package analyze

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// maxRegex is Istio's limit on the length of a regex (validateStringMatchRegexp).
const maxRegex = 1024

// regexes checks every regex of a VirtualService as Istio's webhook does:
// not empty, at most 1024 bytes, and accepted by RE2 (Envoy's engine; Go's
// regexp/syntax parses the same language).
func (r *reporter) regexes(res *load.Resource, spec any) {
	walkStrings(spec, "spec", 0, func(path, label, s string) {
		if label != "regex" && !strings.HasSuffix(path, "uriRegexRewrite.match") {
			return
		}
		switch {
		case s == "*" && strings.Contains(path, ".withoutHeaders"):
			// Istio's webhook checks the regexes of headers and
			// queryParams, not those of withoutHeaders, where istiod
			// reads "*" as "present".
		case s == "":
			r.report(diag.Error, diag.CodeValidation, res, path, "write a pattern, or use prefix or exact", "regex must not be empty")
		case len(s) > maxRegex:
			r.report(diag.Error, diag.CodeValidation, res, path, "shorten the pattern", fmt.Sprintf("regex is %d bytes long: at most %d", len(s), maxRegex))
		default:
			if _, err := syntax.Parse(s, syntax.Perl); err != nil {
				msg := err.Error()
				if e, ok := err.(*syntax.Error); ok {
					msg = e.Code.String() + ": " + e.Expr
				}
				r.report(diag.Error, diag.CodeValidation, res, path, "RE2 syntax: no lookaround or backreferences; escape literal metacharacters with \\",
					"invalid RE2 regex: "+msg)
			}
		}
	})
}

// maxWalk bounds the recursion over a document; the loader already
// refuses deeper documents.
const maxWalk = 64

// walkStrings calls fn with the path, label and value of every string
// under v, a decoded JSON value, in a stable order.
func walkStrings(v any, path string, depth int, fn func(path, label, s string)) {
	if depth > maxWalk {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, label := range keys {
			p := path + "." + label
			if strings.ContainsAny(label, ".[]\" ") || label == "" {
				p = fmt.Sprintf("%s[%q]", path, label)
			}
			if s, ok := v[label].(string); ok {
				fn(p, label, s)
				continue
			}
			walkStrings(v[label], p, depth+1, fn)
		}
	case []any:
		for i, e := range v {
			walkStrings(e, fmt.Sprintf("%s[%d]", path, i), depth+1, fn)
		}
	}
}
