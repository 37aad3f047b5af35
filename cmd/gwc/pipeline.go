package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/analyze"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// step prints one progress line with its duration.
func step(w io.Writer, name string, start time.Time, what string) {
	fmt.Fprintf(w, "gwc: %-15s %-50s %8s\n", name, what, time.Since(start).Round(100*time.Microsecond))
}

// compile loads, validates and compiles paths. It returns every
// diagnostic; the IR is nil when any of them is an error.
func compile(paths []string, namespace string, progress io.Writer) (*ir.Config, diag.List) {
	start := time.Now()
	res := load.Load(paths, load.Options{Namespace: namespace})
	res.Diags = append(res.Diags, analyze.Resource(append(res.Resources, res.Rejected...))...)
	step(progress, "load+validate", start, plural(len(res.Resources), "resource"))
	res.Diags.Sort()
	if res.Diags.HasErrors() {
		return nil, res.Diags
	}
	start = time.Now()
	cfg, diags := compiler.Compile(res.Resources)
	all := append(res.Diags, diags...)
	all = append(all, analyze.Cross(res.Resources, analyze.Options{})...)
	all.Sort()
	all = slices.Compact(all)
	if cfg == nil || all.HasErrors() {
		return nil, all
	}
	routes, vhosts := 0, 0
	for _, l := range cfg.Listeners {
		vhosts += len(l.VirtualHosts)
		for _, vh := range l.VirtualHosts {
			routes += len(vh.Routes)
		}
	}
	step(progress, "compile", start, fmt.Sprintf("%s, %s, %s, %s",
		plural(len(cfg.Listeners), "listener"), plural(vhosts, "virtual host"), plural(routes, "route"), plural(len(cfg.Clusters), "cluster")))
	return cfg, all
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
