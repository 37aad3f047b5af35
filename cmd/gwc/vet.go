package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/analyze"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

const vetSynopsis = "[--format text|json|sarif] [--strict] [--resource-only] [--context PATH] [--credentials-dir DIR] [--namespace NS] PATH..."

func runVet(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", vetSynopsis)
	format := fs.String("format", "text", "output `FORMAT`: text (file:line:col: severity code: message, source line, hint), json or sarif")
	ns := fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace")
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	resourceOnly := fs.Bool("resource-only", false, "judge each resource alone, as Istio's admission webhook and istioctl validate do: no cross-resource analyzers")
	var context pathList
	fs.Var(&context, "context", "also read the resources under `PATH` for cross-resource checks, reporting only on the named PATHs (repeatable; pre-commit passes changed files and --context .)")
	creds := fs.String("credentials-dir", "", "check that each Gateway credentialName NAME exists as `DIR`/NAME/tls.crt and tls.key")
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" && *format != "sarif" {
		fmt.Fprintf(stderr, "gwc vet: unknown format %q: use text, json or sarif\n", *format)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc vet: no input: name files or directories of resources")
		return 2
	}
	if os.Getenv("GOGC") == "" {
		// CUE allocates heavily; collecting less often saves a third of
		// the CPU time of a large vet for a bounded amount of memory.
		debug.SetGCPercent(300)
	}
	diags := vet(paths, vetOptions{namespace: *ns, resourceOnly: *resourceOnly, credentialsDir: *creds, context: context})
	switch *format {
	case "json":
		diags.WriteJSON(stdout)
	case "sarif":
		diags.WriteSARIF(stdout, gwcVersion())
	default:
		printDiags(stdout, diags)
		if n := len(diags); n > 0 {
			fmt.Fprintf(stderr, "gwc vet: %s, %s\n", plural(diags.Count(diag.Error), "error"), plural(diags.Count(diag.Warning), "warning"))
		}
	}
	if diags.HasErrors() || *strict && diags.Count(diag.Warning) > 0 {
		return 1
	}
	return 0
}

type vetOptions struct {
	namespace      string
	resourceOnly   bool
	credentialsDir string
	context        []string
}

// pathList is a repeatable path flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

// named returns a filter keeping the diagnostics about the named paths
// (files, or files under directories) and those about no file.
func named(paths []string) func(diag.Diagnostic) bool {
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

// keep returns the diagnostics of l that keep accepts.
func keep(l diag.List, keep func(diag.Diagnostic) bool) diag.List {
	var out diag.List
	for _, d := range l {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// vet loads and judges the inputs: the schema, the per-resource rules
// (compiler.CheckResources, each resource alone), and unless
// resourceOnly, the compiler and the cross-resource analyzers, which run only on an input set without errors so that a resource
// dropped for its errors does not make others look broken.
//
// With context paths, the resources under them are read too, but only
// findings about the named paths are reported, and problems of the
// context files do not stop the cross-resource checks.
func vet(paths []string, opts vetOptions) diag.List {
	mine := named(paths)
	res := load.Load(append(slices.Clone(paths), opts.context...), load.Options{Namespace: opts.namespace})
	all := keep(res.Diags, mine)
	all = append(all, keep(compiler.CheckResources(res.Resources, res.Rejected), mine)...)
	if !opts.resourceOnly && !all.HasErrors() {
		_, ds := compiler.Compile(res.Resources)
		all = append(all, keep(ds, mine)...)
		all = append(all, keep(analyze.Cross(res.Resources, analyze.Options{CredentialsDir: opts.credentialsDir}), mine)...)
	}
	all.Sort()
	return slices.Compact(all)
}
