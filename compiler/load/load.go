// Package load reads gwc's input files and returns the Istio networking
// resources they hold, each validated against the CUE schema in
// github.com/gwc-dev/gwc/schema, together with positioned diagnostics.
//
// Inputs are files or directories. Directories are walked recursively in
// lexical order, reading only .yaml, .yml, .json and .cue files and skipping
// hidden files and directories; a file named explicitly must have one of
// those extensions.
//
//   - YAML files may hold several documents separated by "---".
//   - JSON files hold one object, or several objects one after another.
//   - A CUE file is evaluated on its own (imports of the standard library
//     only) and may yield one resource, a list of resources, or a struct
//     whose fields are resources, nested up to 32 levels: a struct with a kind
//     or apiVersion field is a resource, any other struct or list is
//     searched for resources. Definitions and hidden fields are ignored.
//
// A document of kind List, or of a kind ending in List that has items, is
// expanded into its items. Empty documents are skipped. Documents of other
// API groups are skipped with a note; Istio networking kinds that gwc does
// not use get a warning; anything else is an error. Fields set to null
// count as absent, as the Kubernetes API server treats them.
//
// Every resource is unified with its schema definition and must be
// concrete. Each problem found becomes one error that points at the
// offending value in the input, never at the schema, and Load reports all
// of them, in every file and document, rather than stopping at the first.
// Resources with errors are not returned in Result.Resources.
package load

import (
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/schema"
)

// Options control loading.
type Options struct {
	// Namespace is given to resources whose metadata has none, as kubectl
	// does; "" means "default".
	Namespace string
}

// Resource is one Istio networking resource read from the input.
type Resource struct {
	APIVersion, Kind, Namespace, Name string
	// File is the path as displayed: relative to the working directory when
	// inside it, slash-separated.
	File string
	// Pos is the position of the document (its first key).
	Pos diag.Pos
	// Value is the resource as the schema accepted it: concrete, with
	// metadata.namespace always set. For a document of a CUE file it is
	// the document unified with its schema definition; for a YAML or
	// JSON document, the document itself, which holds the same fields
	// and values (the schema adds constraints, not data) in far less
	// memory. JSON is always that of the unified value.
	Value cue.Value

	index posIndex

	// The JSON of Value and of its spec, cached by JSON and SpecJSON.
	json, spec         []byte
	jsonErr, specErr   error
	jsonDone, specDone bool
}

// ID names the resource as diagnostics do: "VirtualService istioinaction/webapp".
func (r *Resource) ID() string {
	name := r.Name
	if name == "" {
		name = "(unnamed)"
	}
	return r.Kind + " " + r.Namespace + "/" + name
}

// PosOf returns the position of the value at a field path such as
// "spec.http[0].route[0].destination.host"; for a field that is absent, the
// position of its nearest parent that exists; r.Pos at worst. Map keys that
// are not plain words are written quoted: `spec.selector["app.kubernetes.io/name"]`.
func (r *Resource) PosOf(path string) diag.Pos {
	segs, ok := parsePath(path)
	if !ok || r.index == nil {
		return r.Pos
	}
	if p := r.index.lookup(segs).value; p.File != "" {
		return p
	}
	return r.Pos
}

// Result is what Load found.
type Result struct {
	Resources []*Resource
	// Rejected are the resources of a kind gwc compiles that have errors;
	// their Value is the document as read, not unified with the schema,
	// so that later checks can still report their other problems.
	Rejected []*Resource
	Diags    diag.List
}

// Load reads the files and directories in paths. It never stops at the
// first problem: every diagnostic is in the result, sorted by position.
func Load(paths []string, opts Options) Result {
	l := newLoader(opts)
	for _, in := range l.inputs(paths) {
		l.loadPath(in)
	}
	l.flush()
	l.stopPool()
	l.res.Diags.Sort()
	return l.res
}

type loader struct {
	ctx    *cue.Context
	schema *schemaInfo
	ns     string
	res    Result
	byID   map[string]*Resource
	// tainted is set while the document being read has an error that
	// the schema cannot see, such as a duplicate key.
	tainted bool

	// queue holds the YAML and JSON documents read but not yet
	// validated (see flush).
	queue []*job
	// worker is set on the loaders that validate queued documents: they
	// collect resources in found, and the loader that queued the
	// documents settles them in input order.
	worker bool
	found  []candidate
	// pool validates queued documents while the input is read; nil
	// until enough are queued.
	pool *pool
}

func newLoader(opts Options) *loader {
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	l := &loader{ctx: cuecontext.New(), ns: ns, byID: map[string]*Resource{}}
	v, err := schema.Build(l.ctx)
	if err != nil {
		// The schema is embedded and tested; failing here is a gwc bug.
		l.errorf(diag.CodeInternal, diag.Pos{}, "", "", fmt.Sprintf("internal error: %v", err), "please report this as a gwc bug")
		return l
	}
	l.schema = newSchemaInfo(v)
	return l
}

func (l *loader) add(d diag.Diagnostic) {
	l.res.Diags = append(l.res.Diags, d)
}

func (l *loader) errorf(code string, pos diag.Pos, resource, field, msg, hint string) {
	l.add(diag.Diagnostic{Pos: pos, Severity: diag.Error, Code: code, Resource: resource, Field: field, Message: msg, Hint: hint})
}

// guard turns a panic while reading one file into an error about that
// file, so that one bad input cannot take the compiler down.
func (l *loader) guard(file string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			l.flush()
			l.errorf(diag.CodeInternal, diag.Pos{File: file}, "", "", fmt.Sprintf("internal error while loading this file: %v", r), "please report this as a gwc bug")
		}
	}()
	f()
}
