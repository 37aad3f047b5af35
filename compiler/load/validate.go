package load

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// resource validates a document of a kind gwc compiles and records it.
func (l *loader) resource(file string, pos diag.Pos, doc cue.Value, apiVersion, kind, ns, name string) {
	r := &Resource{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, File: file, Pos: pos}
	if l.worker {
		// A queued document: YAML or JSON, plain data.
		r.index = indexDoc(doc)
	} else {
		r.index = indexPositions(doc)
	}
	if l.schema == nil {
		return
	}
	meta := doc.LookupPath(cue.ParsePath("metadata"))
	if meta.IncompleteKind() == cue.StructKind && !meta.LookupPath(cue.ParsePath("namespace")).Exists() {
		doc = doc.FillPath(cue.ParsePath("metadata.namespace"), ns)
	}
	c := &checker{s: l.schema, r: r, doc: doc, def: l.schema.def(kind), seen: map[string]bool{}}
	u := c.def.Unify(doc)
	err := u.Validate(cue.Concrete(true))
	c.explain(err)
	if err != nil || alwaysRequired {
		// Without an error, CUE has found every required field: the
		// schema's required fields are all declared with "!" outside
		// any disjunction, and CUE checks them wherever they apply.
		c.required(l.schema.top(kind), doc, nil, 0)
	}
	l.res.Diags = append(l.res.Diags, c.diags...)

	valid := len(c.diags) == 0 && !l.tainted
	r.Value = doc
	if valid {
		r.Value = u
	}
	if !l.worker {
		l.settle(r, valid)
		return
	}
	// A queued document is YAML or JSON: plain data, to which the schema
	// adds constraints but no field (every field of the schema is
	// optional or required). Once the JSON is taken from the unified
	// value, the document itself holds the same data in a fraction of
	// the memory: kept for every resource, CUE's unified values were
	// nearly all of the memory of a large build. The JSON is taken here,
	// where documents are validated in parallel: the analyzers read
	// every spec, the build digest every valid resource.
	r.SpecJSON()
	if valid {
		r.JSON()
		if !keepUnified {
			r.Value = doc
		}
	}
	l.found = append(l.found, candidate{r: r, valid: valid})
}

// alwaysRequired looks for absent required fields in documents CUE
// found no error in too; a test sets it to show that it finds none.
var alwaysRequired = false

// keepUnified keeps the unified value of queued documents as Value;
// tests set it to compare both.
var keepUnified = false

// settle records a validated resource unless another of the same kind,
// namespace and name came first.
func (l *loader) settle(r *Resource, valid bool) {
	if r.Name != "" {
		key := r.Kind + "\x00" + r.Namespace + "\x00" + r.Name
		if first, ok := l.byID[key]; ok {
			l.errorf(diag.CodeDuplicate, r.Pos, r.ID(), "", "duplicate resource: also defined at "+first.Pos.String(),
				"rename or remove one of the two")
			return
		}
		l.byID[key] = r
	}
	if valid {
		l.res.Resources = append(l.res.Resources, r)
	} else {
		l.res.Rejected = append(l.res.Rejected, r)
	}
}

// checker turns CUE's findings about one resource into diagnostics.
type checker struct {
	s     *schemaInfo
	r     *Resource
	doc   cue.Value // the data, not unified
	def   cue.Value // the kind's definition
	seen  map[string]bool
	diags []diag.Diagnostic
}

func (c *checker) add(code string, pos diag.Pos, path []seg, msg, hint string) {
	field := formatPath(path)
	key := field + "\x00" + msg
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	if pos.File == "" {
		pos = c.r.Pos
	}
	c.diags = append(c.diags, diag.Diagnostic{Pos: pos, Severity: diag.Error, Code: code, Resource: c.r.ID(),
		Field: field, Message: msg, Hint: hint})
}

// valuePos is where the value at path starts (its nearest parent's when
// absent).
func (c *checker) valuePos(path []seg) diag.Pos { return c.r.index.lookup(path).value }

func (c *checker) data(path []seg) cue.Value { return c.doc.LookupPath(cuePath(path)) }

// explain reports each error of a validation.
func (c *checker) explain(err error) {
	if err == nil {
		return
	}
	for _, e := range cueerrors.Errors(err) {
		path := errorPath(e.Path())
		format, args := e.Msg()
		switch {
		case strings.HasSuffix(format, "errors in empty disjunction:"):
			// A heading: the errors that follow say what failed.
		case format == "field not allowed":
			c.unknownField(path)
		case format == "field is required but not present":
			if len(path) > 0 {
				c.missing(path[:len(path)-1], path[len(path)-1].key)
			}
		case strings.HasPrefix(format, "conflicting values"):
			c.conflict(path, e)
		case strings.HasPrefix(format, "invalid value %v (out of bound %s)") && len(args) == 2:
			c.outOfBound(path, fmt.Sprint(args[1]), e)
		case strings.HasPrefix(format, "invalid value %s (does not satisfy %s)") && len(args) == 2:
			c.unsatisfied(path, fmt.Sprint(args[1]), e)
		case strings.HasPrefix(format, "incompatible list lengths"):
			c.add(diag.CodeInvalidValue, c.valuePos(path), path, "must not be empty", "add at least one item")
		case format == "%s" && len(args) == 1 && strings.HasPrefix(fmt.Sprint(args[0]), "only one of "):
			c.oneOf(path, fmt.Sprint(args[0]))
		case strings.HasPrefix(format, "incomplete value"):
			what := strings.TrimPrefix(cueMessage(e), "incomplete value ")
			if strings.Contains(what, "=~") || len(what) > 60 {
				// A constraint such as a host pattern says little read raw.
				what = "a constraint, not a value"
			}
			c.add(diag.CodeSchema, c.valuePos(path), path, "not a concrete value: "+what, "give the field a concrete value")
		default:
			c.add(diag.CodeSchema, c.valuePos(path), path, cueMessage(e), "check this field against the Istio API reference")
		}
	}
}

// errorPath converts the path of a CUE error to a field path: it drops the
// definition the document was unified with and unquotes labels.
func errorPath(labels []string) []seg {
	var out []seg
	for i, l := range labels {
		if i == 0 && strings.HasPrefix(l, "#") {
			continue
		}
		switch {
		case strings.HasPrefix(l, `"`):
			if k, err := strconv.Unquote(l); err == nil {
				out = append(out, keySeg(k))
				continue
			}
			out = append(out, keySeg(l))
		case l != "" && strings.Trim(l, "0123456789") == "":
			n, err := strconv.Atoi(l)
			if err != nil {
				out = append(out, keySeg(l))
				continue
			}
			out = append(out, idxSeg(n))
		default:
			out = append(out, keySeg(l))
		}
	}
	return out
}

// unknownField reports a field the schema does not have. CUE may report
// the error on a value inside the field; the field is the first step of
// the path the schema does not know.
func (c *checker) unknownField(path []seg) {
	parent := c.def
	for i, p := range path {
		next, ok := child(parent, p)
		if !ok {
			path = path[:i+1]
			break
		}
		parent = next
	}
	if len(path) == 0 || path[len(path)-1].isIdx {
		c.add(diag.CodeUnknownField, c.valuePos(path), path, "value not allowed here", "remove it")
		return
	}
	name := path[len(path)-1].key
	known := fieldNames(parent)
	hint := "remove it"
	if s, ok := closest(name, known); ok {
		hint = "did you mean " + strconv.Quote(s) + "?"
	} else if len(known) > 0 {
		hint = "known fields: " + strings.Join(known, ", ")
	}
	c.add(diag.CodeUnknownField, c.r.index.lookup(path).key, path, "unknown field "+strconv.Quote(name), hint)
}

// missing reports a required field that is absent from the struct at path.
func (c *checker) missing(path []seg, name string) {
	full := formatPath(append(path[:len(path):len(path)], keySeg(name)))
	c.add(diag.CodeMissing, c.valuePos(path), path, "missing required field "+strconv.Quote(name), "add "+full)
}

// required finds required fields absent from the data. CUE's own check
// stops at the first value in error, so it misses them in any resource
// that also has another problem.
func (c *checker) required(s schemaNode, d cue.Value, path []seg, depth int) {
	if depth > maxDepth || !s.ok {
		return
	}
	switch d.IncompleteKind() {
	case cue.StructKind:
		for _, name := range s.required {
			if !d.LookupPath(cue.MakePath(cue.Str(name))).Exists() {
				c.missing(path, name)
			}
		}
		it, err := d.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			if !it.Selector().IsString() {
				continue
			}
			p := keySeg(it.Selector().Unquoted())
			c.required(c.s.step(s, p), it.Value(), append(path[:len(path):len(path)], p), depth+1)
		}
	case cue.ListKind:
		es := c.s.step(s, idxSeg(0))
		it, err := d.List()
		if err != nil {
			return
		}
		for i := 0; it.Next(); i++ {
			c.required(es, it.Value(), append(path[:len(path):len(path)], idxSeg(i)), depth+1)
		}
	}
}

// conflict explains a value the schema does not accept: an enum, a type
// mismatch, or, failing those, CUE's own words.
func (c *checker) conflict(path []seg, e cueerrors.Error) {
	d := c.data(path)
	s, ok := c.s.node(c.def, path)
	if ok && d.Exists() {
		if enum := c.s.enum(s, 0); len(enum) > 0 {
			c.badEnum(path, d, enum)
			return
		}
		if want, got := s.IncompleteKind(), d.Kind(); got != cue.BottomKind && want&got == 0 {
			c.add(diag.CodeInvalidValue, c.valuePos(path), path, "expected "+kindName(want)+", found "+describe(d), typeHint(want, d))
			return
		}
	}
	c.add(diag.CodeInvalidValue, c.valuePos(path), path, cueMessage(e), "check this field against the Istio API reference")
}

func (c *checker) badEnum(path []seg, d cue.Value, enum []string) {
	msg := "invalid value " + fmt.Sprint(d) + ": must be one of " + strings.Join(enum, ", ")
	hint := "use one of the values listed"
	if str, err := d.String(); err == nil {
		if near, ok := closest(str, enum); ok {
			hint = "did you mean " + strconv.Quote(near) + "?"
		}
	} else {
		hint = "write one of the values listed, as a string"
	}
	c.add(diag.CodeInvalidValue, c.valuePos(path), path, msg, hint)
}

func typeHint(want cue.Kind, d cue.Value) string {
	switch {
	case want&cue.NumberKind != 0 && d.Kind() == cue.StringKind:
		if s, _ := d.String(); s != "" {
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return "remove the quotes: write " + s + ", not " + strconv.Quote(s)
			}
		}
		return "write a number"
	case want == cue.IntKind:
		return "write a whole number"
	case want == cue.StringKind:
		return "quote the value to make it a string: " + strconv.Quote(fmt.Sprint(d))
	case want == cue.BoolKind:
		return "write true or false, without quotes"
	case want == cue.StructKind:
		return "write a mapping of field names to values"
	case want == cue.ListKind:
		return `write a list: one "- item" per line, or [a, b]`
	}
	return "write " + kindName(want)
}

// outOfBound explains a value outside a range or not matching a pattern.
func (c *checker) outOfBound(path []seg, bound string, e cueerrors.Error) {
	d := c.data(path)
	pos := c.valuePos(path)
	if f, ok := c.s.formats[bound]; ok {
		// A value may break several formats (a Gateway name must be both
		// a DNS label and a subdomain); the first says enough.
		key := formatPath(path) + "\x00format"
		if c.seen[key] {
			return
		}
		c.seen[key] = true
		if f.enum != nil {
			c.badEnum(path, d, f.enum)
			return
		}
		c.add(diag.CodeInvalidValue, pos, path, "invalid value "+fmt.Sprint(d)+": must be "+f.what, f.hint)
		return
	}
	switch {
	case strings.HasPrefix(bound, "=~"), strings.HasPrefix(bound, "!~"):
		c.add(diag.CodeInvalidValue, pos, path, cueMessage(e), "check the value's format")
	case strings.HasPrefix(bound, "!="):
		c.add(diag.CodeInvalidValue, pos, path, "invalid value "+fmt.Sprint(d)+": must not be "+strings.TrimPrefix(bound, "!="), "use another value")
	default:
		s, _ := c.s.node(c.def, path)
		lo, hi := c.s.bounds(s, 0)
		var want string
		switch {
		case lo != "" && hi != "":
			want = "from " + lo + " to " + hi
		case lo != "":
			want = "at least " + lo
		case hi != "":
			want = "at most " + hi
		default:
			want = bound
		}
		c.add(diag.CodeInvalidValue, pos, path, "value "+fmt.Sprint(d)+" is out of range", "use a value "+want)
	}
}

// unsatisfied explains a failed validator on a length.
func (c *checker) unsatisfied(path []seg, validator string, e cueerrors.Error) {
	pos := c.valuePos(path)
	switch {
	case strings.HasPrefix(validator, "strings.MaxRunes("):
		n := strings.TrimSuffix(strings.TrimPrefix(validator, "strings.MaxRunes("), ")")
		c.add(diag.CodeInvalidValue, pos, path, "too long: at most "+n+" characters", "shorten it")
	case strings.HasPrefix(validator, "list.MaxItems("):
		n := strings.TrimSuffix(strings.TrimPrefix(validator, "list.MaxItems("), ")")
		c.add(diag.CodeInvalidValue, pos, path, "too many items: at most "+n, "remove items")
	default:
		c.add(diag.CodeInvalidValue, pos, path, cueMessage(e), "check this field against the Istio API reference")
	}
}

// oneOf explains the schema's error for mutually exclusive fields, which
// it raises on every field of the group after the first one set:
// "only one of exact, prefix or regex may be set".
func (c *checker) oneOf(path []seg, msg string) {
	names := strings.TrimSuffix(strings.TrimPrefix(msg, "only one of "), " may be set")
	group := strings.FieldsFunc(strings.ReplaceAll(names, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
	if len(path) == 0 || len(group) < 2 {
		c.add(diag.CodeExclusive, c.valuePos(path), path, msg, "keep one of them")
		return
	}
	parent := path[:len(path)-1]
	d := c.data(parent)
	var set []string
	for _, f := range group {
		if d.LookupPath(cue.MakePath(cue.Str(f))).Exists() {
			set = append(set, f)
		}
	}
	if len(set) < 2 {
		c.add(diag.CodeExclusive, c.valuePos(path), path, msg, "keep one of them")
		return
	}
	// Point at the second field set: the first is no mistake until another
	// joins it.
	second := c.r.index.lookup(append(parent[:len(parent):len(parent)], keySeg(set[1]))).key
	c.add(diag.CodeExclusive, second, parent, "only one of "+strings.Join(group, ", ")+" may be set, found "+andList(set),
		"keep one of "+andList(set))
}

func andList(s []string) string {
	s = slices.Clone(s)
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
