package main

import (
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
