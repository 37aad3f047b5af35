package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// step prints one progress line with its duration.
func step(w io.Writer, name string, took time.Duration, what string) {
	fmt.Fprintf(w, "gwc: %-15s %-50s %8s\n", name, what, took.Round(100*time.Microsecond))
}

// compile runs the pipeline (compiler.Run) for the commands that need the
// IR, printing its progress lines to progress. The IR is nil when any
// diagnostic is an error.
func compile(paths []string, namespace string, progress io.Writer) (*ir.Config, diag.List) {
	return compileWith(paths, compiler.Options{Namespace: namespace}, progress)
}

// compileWith is compile with all of the pipeline's options.
func compileWith(paths []string, opts compiler.Options, progress io.Writer) (*ir.Config, diag.List) {
	res := compiler.Run(paths, opts)
	step(progress, "load+validate", res.LoadTime, plural(res.Resources, "resource"))
	cfg := res.Config
	if cfg == nil {
		return nil, res.Diags
	}
	routes, vhosts := 0, 0
	for _, l := range cfg.Listeners {
		vhosts += len(l.VirtualHosts)
		for _, vh := range l.VirtualHosts {
			routes += len(vh.Routes)
		}
	}
	step(progress, "compile", res.CompileTime, fmt.Sprintf("%s, %s, %s, %s",
		plural(len(cfg.Listeners), "listener"), plural(vhosts, "virtual host"), plural(routes, "route"), plural(len(cfg.Clusters), "cluster")))
	return cfg, res.Diags
}

// printDiags writes diagnostics with their source excerpts.
func printDiags(w io.Writer, diags diag.List) {
	diags.Render(w, newSourceCache().read)
}

// maxSource bounds the size of a file read back for excerpts.
const maxSource = 16 << 20

// sourceCache reads input files back for excerpts, each once.
type sourceCache map[string][]byte

func newSourceCache() sourceCache { return sourceCache{} }

func (c sourceCache) read(file string) []byte {
	if b, ok := c[file]; ok {
		return b
	}
	var b []byte
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxSource {
		b, _ = os.ReadFile(file)
	}
	c[file] = b
	return b
}

// inputFlags are the flags that decide what the input means. Every verb
// that compiles it takes them, so that vet, routes, explain, test and diff
// judge the configuration gwc build builds.
type inputFlags struct {
	namespace, mesh, endpoints *string
}

func addInputFlags(fs *flag.FlagSet) inputFlags {
	return inputFlags{
		namespace: fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace"),
		mesh: fs.String("mesh-config", "", "read Istio's mesh config (extensionProviders, defaultProviders) from `FILE`: "+
			"the istio ConfigMap's data.mesh, or the ConfigMap"),
		endpoints: fs.String("endpoints", "dns",
			"where destinations without a ServiceEntry get their endpoints: `dns` (the Service's cluster DNS name, one ClusterIP) "+
				"or kubernetes (the pods, from the Service's EndpointSlices watched through the Kubernetes API; the binary then links client-go)"),
	}
}

// options returns the compiler's options for the flags, or false after
// saying what is wrong with them.
func (f inputFlags) options(stderr io.Writer, verb string) (compiler.Options, bool) {
	opts := compiler.Options{Namespace: *f.namespace, MeshConfig: *f.mesh}
	switch *f.endpoints {
	case "dns":
	case compiler.EndpointsKubernetes:
		opts.Endpoints = compiler.EndpointsKubernetes
	default:
		fmt.Fprintf(stderr, "gwc %s: --endpoints %q: want dns or kubernetes\n", verb, *f.endpoints)
		return opts, false
	}
	return opts, true
}

// inputSynopsis is the input flags in a verb's usage line.
const inputSynopsis = "[--namespace NS] [--mesh-config FILE] [--endpoints dns|kubernetes]"
