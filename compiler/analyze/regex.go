package analyze

import (
	"fmt"
	"regexp/syntax"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// maxRegex is Istio's limit on the length of a regex (validateStringMatchRegexp).
const maxRegex = 1024

// regexes checks every regex of a VirtualService as Istio's webhook does:
// not empty, at most 1024 bytes, and accepted by RE2 (Envoy's engine; Go's
// regexp/syntax parses the same language).
func (r *reporter) regexes(res *load.Resource) {
	walkStrings(res.Value.LookupPath(specPath), "spec", 0, func(path, label, s string) {
		if label != "regex" && !strings.HasSuffix(path, "uriRegexRewrite.match") {
			return
		}
		switch {
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
// under v.
func walkStrings(v cue.Value, path string, depth int, fn func(path, label, s string)) {
	if depth > maxWalk {
		return
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		it, err := v.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			label := it.Selector().Unquoted()
			p := path + "." + label
			if strings.ContainsAny(label, ".[]\" ") {
				p = fmt.Sprintf("%s[%q]", path, label)
			}
			if s, err := it.Value().String(); err == nil {
				fn(p, label, s)
				continue
			}
			walkStrings(it.Value(), p, depth+1, fn)
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return
		}
		for i := 0; it.Next(); i++ {
			walkStrings(it.Value(), fmt.Sprintf("%s[%d]", path, i), depth+1, fn)
		}
	}
}
