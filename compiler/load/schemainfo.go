package load

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
)

// schemaInfo answers questions about the schema that CUE's error messages
// leave open: which fields a struct has, which values an enum allows, the
// range of a number, the meaning of a pattern.
type schemaInfo struct {
	root cue.Value
	// formats maps the text of a pattern constraint, as CUE prints it in
	// errors, to what it means.
	formats map[string]format
	// nodes memoizes schema lookups by node key (see step): looking a
	// field up in CUE is costly and the same few are asked for each
	// resource.
	nodes map[string]schemaNode
}

// schemaNode is a constraint of the schema and what the loader asks of it.
type schemaNode struct {
	v        cue.Value
	key      string
	ok       bool
	required []string
}

type format struct {
	what string // "a duration"
	hint string
	enum []string // allowed values when the pattern is a list of words
	fold bool     // enum compared ignoring case
}

// namedFormats explains the schema's pattern definitions.
var namedFormats = map[string]format{
	"#Duration": {what: "a duration",
		hint: "write a number with a unit (ns, us, ms, s, m or h), e.g. 500ms, 1s or 1h30m"},
	"#DNS1123Label": {what: "a DNS-1123 label",
		hint: "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"},
	"#DNS1123Subdomain": {what: "a DNS-1123 subdomain",
		hint: "use lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit"},
	"#Base64": {what: "base64 data",
		hint: "encode the bytes in standard base64 (A-Z, a-z, 0-9, +, / and = padding)"},
	"#Protocol": {what: "a protocol", fold: true},
	"#WildcardHost": {what: "a host name, a wildcard host (*.example.com or *) or an IP address",
		hint: "use letters, digits, '-' and '.', with '*' only as the whole first label, as in *.example.com"},
	"#GatewayHost": {what: "a Gateway host: [namespace/]name, the name fully qualified (with a dot), *.domain, * or an IP address",
		hint: "write e.g. shop.example.com, *.example.com, * or prod/shop.example.com; short names and partial wildcards (foo*.example.com) are not allowed"},
}

func newSchemaInfo(root cue.Value) *schemaInfo {
	s := &schemaInfo{root: root, formats: map[string]format{}, nodes: map[string]schemaNode{}}
	for name, f := range namedFormats {
		def := root.LookupPath(cue.MakePath(cue.Def(name)))
		for _, b := range boundTexts(def) {
			if f.fold {
				f.enum = foldedWords(b)
			}
			s.formats[b] = f
		}
	}
	return s
}

// boundTexts lists the pattern constraints (=~"...") of a definition.
func boundTexts(v cue.Value) []string {
	op, args := v.Expr()
	if op == cue.AndOp {
		var out []string
		for _, a := range args {
			out = append(out, boundTexts(a)...)
		}
		return out
	}
	if op == cue.RegexMatchOp {
		return []string{fmt.Sprint(v)}
	}
	return nil
}

// foldedWords reads the words of a pattern of the form =~"^(?i:A|B|C)$".
func foldedWords(bound string) []string {
	i, j := strings.Index(bound, "(?i:"), strings.LastIndex(bound, ")$")
	if i < 0 || j < i {
		return nil
	}
	return strings.Split(bound[i+len("(?i:"):j], "|")
}

func (s *schemaInfo) def(kind string) cue.Value {
	return s.root.LookupPath(cue.MakePath(cue.Def(kind)))
}

// node returns the schema's constraint for the value at path below v.
func (s *schemaInfo) node(v cue.Value, path []seg) (cue.Value, bool) {
	for _, p := range path {
		next, ok := child(v, p)
		if !ok {
			return cue.Value{}, false
		}
		v = next
	}
	return v, true
}

// top returns the node of a kind's definition.
func (s *schemaInfo) top(kind string) schemaNode {
	if n, ok := s.nodes[kind]; ok {
		return n
	}
	v := s.def(kind)
	n := schemaNode{v: v, key: kind, ok: v.Exists(), required: requiredFields(v)}
	s.nodes[kind] = n
	return n
}

// step is child, memoized. A node's key is its parent's key and the step
// taken; the elements of a list share one key.
func (s *schemaInfo) step(parent schemaNode, p seg) schemaNode {
	k := parent.key + "\x00" + p.key
	if p.isIdx {
		k = parent.key + "\x00[]"
	}
	if n, ok := s.nodes[k]; ok {
		return n
	}
	var n schemaNode
	if parent.ok {
		n.v, n.ok = child(parent.v, p)
	}
	n.key = k
	if n.ok {
		n.required = requiredFields(n.v)
	}
	s.nodes[k] = n
	return n
}

// child steps from a schema struct or list to the constraint of one field
// or element, whether the field is regular, optional, required or matched
// by a pattern.
func child(v cue.Value, p seg) (cue.Value, bool) {
	if p.isIdx {
		c := v.LookupPath(cue.MakePath(cue.AnyIndex))
		return c, c.Exists()
	}
	sel := cue.Str(p.key)
	for _, s := range []cue.Selector{sel, sel.Optional(), sel.Required()} {
		if c := v.LookupPath(cue.MakePath(s)); c.Exists() {
			return c, true
		}
	}
	c := v.LookupPath(cue.MakePath(cue.AnyString))
	return c, c.Exists()
}

// fieldNames lists the fields a schema struct declares.
func fieldNames(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		if sel := it.Selector(); sel.IsString() {
			names = append(names, sel.Unquoted())
		}
	}
	return names
}

// requiredFields lists the fields of a schema struct marked with "!".
func requiredFields(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		if sel := it.Selector(); sel.IsString() && sel.ConstraintType() == cue.RequiredConstraint {
			names = append(names, sel.Unquoted())
		}
	}
	return names
}

// resolve follows a reference to a top-level definition of the schema.
func (s *schemaInfo) resolve(args []cue.Value) (cue.Value, bool) {
	if len(args) != 2 {
		return cue.Value{}, false
	}
	name, err := args[1].String()
	if err != nil || !strings.HasPrefix(name, "#") {
		return cue.Value{}, false
	}
	v := s.root.LookupPath(cue.MakePath(cue.Def(name)))
	return v, v.Exists()
}

// enum lists the values of a disjunction of strings, in schema order.
func (s *schemaInfo) enum(v cue.Value, depth int) []string {
	if depth > 8 {
		return nil
	}
	op, args := v.Expr()
	switch op {
	case cue.OrOp:
		var out []string
		for _, a := range args {
			str, err := a.String()
			if err != nil {
				return nil
			}
			out = append(out, str)
		}
		return out
	case cue.SelectorOp:
		if d, ok := s.resolve(args); ok {
			return s.enum(d, depth+1)
		}
	case cue.AndOp:
		for _, a := range args {
			if e := s.enum(a, depth+1); e != nil {
				return e
			}
		}
	}
	return nil
}

// bounds finds the lower and upper bounds of a number constraint, as
// written in the schema ("" when absent).
func (s *schemaInfo) bounds(v cue.Value, depth int) (lo, hi string) {
	if depth > 8 {
		return "", ""
	}
	op, args := v.Expr()
	switch op {
	case cue.GreaterThanEqualOp:
		return fmt.Sprint(args[0]), ""
	case cue.GreaterThanOp:
		return "more than " + fmt.Sprint(args[0]), ""
	case cue.LessThanEqualOp:
		return "", fmt.Sprint(args[0])
	case cue.LessThanOp:
		return "", "less than " + fmt.Sprint(args[0])
	case cue.SelectorOp:
		if d, ok := s.resolve(args); ok {
			return s.bounds(d, depth+1)
		}
	case cue.AndOp:
		// The tightest bounds win; the schema never repeats them in ways
		// that need comparing, so the last one found is kept.
		for _, a := range args {
			l, h := s.bounds(a, depth+1)
			if l != "" {
				lo = l
			}
			if h != "" {
				hi = h
			}
		}
	}
	return lo, hi
}

// kindName names a kind of value as a user would.
func kindName(k cue.Kind) string {
	switch {
	case k == cue.IntKind:
		return "an integer"
	case k == cue.FloatKind, k == cue.NumberKind:
		return "a number"
	case k == cue.StringKind:
		return "a string"
	case k == cue.BoolKind:
		return "true or false"
	case k == cue.StructKind:
		return "a mapping"
	case k == cue.ListKind:
		return "a list"
	case k == cue.NullKind:
		return "null"
	case k == cue.BytesKind:
		return "bytes"
	}
	var names []string
	for _, one := range []cue.Kind{cue.IntKind, cue.FloatKind, cue.StringKind, cue.BoolKind, cue.StructKind, cue.ListKind, cue.NullKind, cue.BytesKind} {
		if k&one != 0 {
			names = append(names, kindName(one))
		}
	}
	if k&cue.NumberKind == cue.NumberKind {
		names = slices.DeleteFunc(names, func(n string) bool { return n == "an integer" })
	}
	if len(names) == 0 {
		return "a value"
	}
	return strings.Join(names, " or ")
}

// describe names a data value for a message: scalars by their value,
// others by their kind.
func describe(v cue.Value) string {
	if !v.Exists() {
		return "nothing"
	}
	switch k := v.Kind(); k {
	case cue.StringKind, cue.IntKind, cue.FloatKind, cue.BoolKind, cue.NullKind:
		s := fmt.Sprint(v)
		if r := []rune(s); len(r) > 60 {
			s = string(r[:57]) + "..."
		}
		return kindName(k) + " (" + s + ")"
	case cue.BottomKind:
		return "an invalid value"
	default:
		return kindName(k)
	}
}
