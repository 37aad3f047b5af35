package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
)

const vetSynopsis = "[--format text|json|sarif] [--strict] [--resource-only] [--context PATH] [--credentials-dir DIR] " + inputSynopsis + " PATH..."

func runVet(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", vetSynopsis)
	format := fs.String("format", "text", "output `FORMAT`: text (file:line:col: severity code: message, source line, hint), json or sarif")
	input := addInputFlags(fs)
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
	opts, ok := input.options(stderr, "vet")
	if !ok {
		return 2
	}
	opts.ResourceOnly, opts.CredentialsDir, opts.Context = *resourceOnly, *creds, context
	diags := compiler.Run(paths, opts).Diags
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

// pathList is a repeatable path flag.
type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }
