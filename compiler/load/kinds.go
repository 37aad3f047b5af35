package load

import (
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
)

const maxListDepth = 8

// document classifies one document and, for the kinds gwc compiles,
// validates it.
func (l *loader) document(file string, v cue.Value, depth int) {
	pos := toDiagPos(v.Pos())
	if pos.File == "" {
		pos = diag.Pos{File: file}
	}
	switch v.IncompleteKind() {
	case cue.NullKind:
		return
	case cue.StructKind:
	default:
		l.errorf(diag.CodeInput, pos, "", "", "expected a resource, found "+describe(v),
			"a document is a mapping with apiVersion, kind, metadata and spec")
		return
	}
	if empty(v) {
		return
	}
	apiVersion, ok := l.stringField(v, "apiVersion", pos)
	if !ok {
		return
	}
	kind, ok := l.stringField(v, "kind", pos)
	if !ok {
		return
	}
	if items := v.LookupPath(cue.ParsePath("items")); kind == "List" || strings.HasSuffix(kind, "List") && items.Exists() {
		l.list(file, pos, items, depth)
		return
	}
	group, version := "", apiVersion
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group, version = apiVersion[:i], apiVersion[i+1:]
	}
	ns, name := l.identity(v)
	id := (&Resource{Kind: kind, Namespace: ns, Name: name}).ID()
	g, ok := groups[group]
	if !ok {
		l.add(diag.Diagnostic{Pos: pos, Severity: diag.Note, Code: diag.CodeInput,
			Message: "skipping " + apiVersion + " " + id + ": not an Istio networking resource"})
		return
	}
	if hint, ok := g.notEnforced[kind]; ok && !slices.Contains(g.kinds, kind) {
		// Checked before the version: whatever the version, skipping the
		// resource would fail open.
		l.add(diag.Diagnostic{Pos: pos, Severity: diag.Error, Code: diag.CodeNotEnforced, Resource: id,
			Message: apiVersion + " " + kind + " is not enforced by gwc: a gateway built without it would not apply it",
			Hint:    hint})
		return
	}
	if !slices.Contains(g.versions, version) {
		hint := "use " + group + "/" + g.versions[0]
		if len(g.versions) > 1 {
			hint += "; " + strings.Join(g.versions[1:], " and ") + " are accepted too"
		}
		l.errorf(diag.CodeInput, fieldValuePos(v, "apiVersion", pos), id, "apiVersion",
			"unknown apiVersion "+strconv.Quote(apiVersion), hint)
		return
	}
	switch {
	case slices.Contains(g.kinds, kind):
		l.resource(file, pos, v, apiVersion, kind, ns, name)
	case slices.Contains(g.unused, kind):
		l.add(diag.Diagnostic{Pos: pos, Severity: diag.Warning, Code: diag.CodeInput, Resource: id,
			Message: "gwc does not use " + kind + " resources; skipping it",
			Hint:    g.about + "; remove it from the input to silence this"})
	default:
		hint := g.about
		if c, ok := closest(kind, append(slices.Clone(g.kinds), g.unused...)); ok {
			hint = "did you mean " + c + "?"
		}
		l.errorf(diag.CodeInput, fieldValuePos(v, "kind", pos), id, "kind",
			"unknown kind "+strconv.Quote(kind)+" in "+group, hint)
	}
}

// list expands a List document into its items.
func (l *loader) list(file string, pos diag.Pos, items cue.Value, depth int) {
	if depth >= maxListDepth {
		l.errorf(diag.CodeSyntax, pos, "", "items", "lists nested too deeply", "flatten the lists")
		return
	}
	if !items.Exists() {
		return
	}
	it, err := items.List()
	if err != nil {
		l.errorf(diag.CodeInput, positionsOf(items).value, "", "items", "expected a list, found "+describe(items),
			"items holds the list's resources")
		return
	}
	for it.Next() {
		l.document(file, it.Value(), depth+1)
	}
}

// stringField reads apiVersion or kind, reporting it if absent or not a
// string.
func (l *loader) stringField(v cue.Value, field string, pos diag.Pos) (string, bool) {
	f := v.LookupPath(cue.MakePath(cue.Str(field)))
	if !f.Exists() {
		l.errorf(diag.CodeInput, pos, "", "", "missing "+field+": not a Kubernetes resource",
			"start the document with apiVersion and kind, e.g. apiVersion: networking.istio.io/v1 and kind: VirtualService")
		return "", false
	}
	s, err := f.String()
	if err != nil {
		l.errorf(diag.CodeInput, fieldValuePos(v, field, pos), "", field, "expected a string, found "+describe(f),
			"write the "+field+" as a string")
		return "", false
	}
	return s, true
}

// identity reads metadata.namespace and metadata.name, as far as they are
// strings, defaulting the namespace.
func (l *loader) identity(v cue.Value) (ns, name string) {
	ns = l.ns
	if s, err := v.LookupPath(cue.ParsePath("metadata.namespace")).String(); err == nil && s != "" {
		ns = s
	}
	name, _ = v.LookupPath(cue.ParsePath("metadata.name")).String()
	return ns, name
}

// fieldValuePos is the position of the value of a top-level field.
func fieldValuePos(v cue.Value, field string, fallback diag.Pos) diag.Pos {
	f := v.LookupPath(cue.MakePath(cue.Str(field)))
	if p := positionsOf(f).value; f.Exists() && p.File != "" {
		return p
	}
	return fallback
}

func empty(v cue.Value) bool {
	it, err := v.Fields()
	return err == nil && !it.Next()
}
