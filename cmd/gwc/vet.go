package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/analyze"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

const vetSynopsis = "[--format text|json|sarif] [--strict] [--resource-only] [--credentials-dir DIR] [--namespace NS] PATH..."

func runVet(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", vetSynopsis)
	format := fs.String("format", "text", "output `FORMAT`: text (file:line:col: severity code: message, source line, hint), json or sarif")
	ns := fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace")
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	resourceOnly := fs.Bool("resource-only", false, "judge each resource alone, as Istio's admission webhook and istioctl validate do: no cross-resource analyzers")
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
	diags := vet(paths, vetOptions{namespace: *ns, resourceOnly: *resourceOnly, credentialsDir: *creds})
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
}

// vet loads and judges the inputs: the schema, the per-resource rules,
// and unless resourceOnly, the compiler and the cross-resource analyzers,
// which run only on an input set without errors so that a resource
// dropped for its errors does not make others look broken.
func vet(paths []string, opts vetOptions) diag.List {
	res := load.Load(paths, load.Options{Namespace: opts.namespace})
	all := append(res.Diags, analyze.Resource(append(res.Resources, res.Rejected...))...)
	if !opts.resourceOnly && !all.HasErrors() {
		_, ds := compiler.Compile(res.Resources)
		all = append(all, ds...)
		all = append(all, analyze.Cross(res.Resources, analyze.Options{CredentialsDir: opts.credentialsDir})...)
	}
	all.Sort()
	return all
}

func gwcVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
