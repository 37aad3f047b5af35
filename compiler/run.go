package compiler

import (
	"slices"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/analyze"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// Options are the choices of one Run.
type Options struct {
	// Namespace is given to resources that set none, as kubectl's
	// --namespace; "" means "default".
	Namespace string
	// Context paths are read too, for the cross-resource checks, but only
	// the diagnostics about Run's paths (or about no file) are kept, so
	// that problems of the context files neither show nor stop the checks
	// (gwc vet --context).
	Context []string
	// ResourceOnly judges each resource alone, as Istio's admission
	// webhook does: no compilation, no cross-resource analyzers, no IR.
	ResourceOnly bool
	// CredentialsDir, when set, has the analyzers check that every
	// Gateway credentialName exists under it.
	CredentialsDir string
	// Endpoints is where destinations without a ServiceEntry get their
	// endpoints: "" (DNS) or EndpointsKubernetes.
	Endpoints string
	// MeshConfig, when set, is the file of Istio's mesh config (the istio
	// ConfigMap's data.mesh, or the ConfigMap): the extension providers
	// Telemetry and AuthorizationPolicy name (meshconfig.go).
	MeshConfig string
}

// Result is what one Run produced.
type Result struct {
	// Config is the IR; nil when any diagnostic is an error, and with
	// ResourceOnly.
	Config *ir.Config
	// Diags are every diagnostic, sorted, each once.
	Diags diag.List
	// Resources is how many resources passed the schema.
	Resources int
	// LoadTime covers loading, the schema and the per-resource rules;
	// CompileTime the compiler and the cross-resource analyzers.
	LoadTime, CompileTime time.Duration
}

// Run is the pipeline, the one place it is sequenced: load the paths,
// validate each resource against the schema and the per-resource rules,
// then, only on an input without errors (so that a resource dropped for
// its errors does not make others look broken), compile to the IR and run
// the cross-resource analyzers. Every command and every test that needs
// the IR or the diagnostics calls it, so they see what users see.
func Run(paths []string, opts Options) *Result {
	keep := func(diag.Diagnostic) bool { return true }
	if len(opts.Context) > 0 {
		keep = about(paths)
	}
	start := time.Now()
	res := load.Load(append(slices.Clone(paths), opts.Context...), load.Options{Namespace: opts.Namespace})
	out := &Result{Resources: len(res.Resources)}
	all := filter(res.Diags, keep)
	if opts.ResourceOnly {
		// Every per-resource rule, the compiler's included, each resource
		// alone: what Istio's admission webhook judges.
		all = append(all, filter(CheckResources(res.Resources, res.Rejected), keep)...)
	} else {
		all = append(all, filter(analyze.Resource(append(res.Resources, res.Rejected...)), keep)...)
	}
	var mesh *MeshConfig
	if opts.MeshConfig != "" && !opts.ResourceOnly {
		var ds diag.List
		mesh, ds = LoadMeshConfig(opts.MeshConfig)
		all = append(all, ds...)
	}
	out.LoadTime = time.Since(start)
	if opts.ResourceOnly || all.HasErrors() {
		out.Diags = sorted(all)
		return out
	}
	start = time.Now()
	cfg, ds := compile(res.Resources, mesh, opts.Endpoints)
	all = append(all, filter(ds, keep)...)
	all = append(all, filter(analyze.Cross(res.Resources, analyze.Options{CredentialsDir: opts.CredentialsDir}), keep)...)
	out.CompileTime = time.Since(start)
	out.Diags = sorted(all)
	if cfg != nil && !out.Diags.HasErrors() {
		out.Config = cfg
	}
	return out
}

func sorted(l diag.List) diag.List {
	l.Sort()
	return slices.Compact(l)
}

// about returns a filter keeping the diagnostics about the named paths
// (files, or files under directories) and those about no file.
func about(paths []string) func(diag.Diagnostic) bool {
	var files, dirs []string
	for _, p := range paths {
		d := load.DisplayPath(p)
		if d == "." {
			return func(diag.Diagnostic) bool { return true }
		}
		files = append(files, d)
		dirs = append(dirs, d+"/")
	}
	return func(d diag.Diagnostic) bool {
		f := d.Pos.File
		if f == "" || slices.Contains(files, f) {
			return true
		}
		return slices.ContainsFunc(dirs, func(dir string) bool { return strings.HasPrefix(f, dir) })
	}
}

// filter returns the diagnostics of l that keep accepts.
func filter(l diag.List, keep func(diag.Diagnostic) bool) diag.List {
	var out diag.List
	for _, d := range l {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}
