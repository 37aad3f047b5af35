package gwc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The arrows between gwc's packages point one way (docs/architecture.md):
//
//	cmd/gwc -> compiler -> compiler/{load,analyze} -> schema
//	cmd/gwc -> codegen -> compiler/ir, runtime (as source, embedded)
//
// TestArrows reads the module's import graph with go list and fails on an
// arrow that must never exist. Only the packages' own imports count, as
// go list -deps reports them: test files may import across the rules (a
// codegen test may run compiler.Run to get an IR), since they are never
// part of a binary nor of a generated module.
func TestArrows(t *testing.T) {
	g := importGraph(t)
	if g.deps[module+"/runtime"] == nil || g.deps[module+"/cmd/gwc"] == nil {
		t.Fatalf("go list did not list the module's packages")
	}
	for _, r := range arrows {
		for _, from := range slices.Sorted(maps.Keys(g.deps)) {
			if !r.from(from) {
				continue
			}
			to := g.deps[from]
			if r.direct {
				to = g.imports[from]
			}
			for _, p := range to {
				if r.never(p) {
					t.Errorf("%s must not depend on %s: %s\n  %s", short(from), short(p), r.why, strings.Join(g.path(from, p), "\n  -> "))
				}
			}
		}
	}
}

const module = "github.com/gwc-dev/gwc"

// rule is one arrow that must not exist: no package that from accepts may
// depend (directly, with direct) on a package never accepts.
type rule struct {
	from, never func(string) bool
	direct      bool
	why         string
}

var arrows = []rule{{
	from:  under("runtime"),
	never: func(p string) bool { return strings.HasPrefix(p, module+"/") && !under("runtime")(p) },
	why: "runtime is the only gwc code in a generated module (embed.go copies runtime/ alone): " +
		"it must never reach the compiler, codegen, schema or templates",
}, {
	from: under("codegen"),
	never: func(p string) bool {
		return under("compiler")(p) && p != module+"/compiler/ir" && p != module+"/compiler/diag"
	},
	why: "codegen sees only the IR (compiler/ir, and compiler/diag for the positions ir.Origin holds), " +
		"never the loader, the analyzers, CUE or the compiler's model",
}, {
	from:  under("codegen"),
	never: func(p string) bool { return strings.HasPrefix(p, "cuelang.org/go/") },
	why:   "codegen never parses YAML or CUE",
}, {
	from:   under("cmd/gwc"),
	never:  func(p string) bool { return strings.HasPrefix(p, "cuelang.org/go/") || p == module+"/compiler/load" },
	direct: true,
	why:    "the CLI runs the pipeline through compiler.Run and reads what it needs from the IR",
}, {
	from:  func(p string) bool { return under("compiler")(p) || under("schema")(p) },
	never: func(p string) bool { return under("codegen")(p) || under("runtime")(p) || under("cmd")(p) },
	why:   "the front end knows nothing of what is generated from the IR",
}, {
	from:  func(p string) bool { return p == module+"/compiler/ir" },
	never: func(p string) bool { return strings.HasPrefix(p, module+"/") && p != module+"/compiler/diag" },
	why:   "the IR is plain data: it imports only compiler/diag, for positions",
}}

// under accepts the module package dir and those below it.
func under(dir string) func(string) bool {
	return func(p string) bool { return p == module+"/"+dir || strings.HasPrefix(p, module+"/"+dir+"/") }
}

// graph is the import graph of the module's packages and all they
// depend on.
type graph struct {
	imports map[string][]string // direct imports of every package
	deps    map[string][]string // transitive deps of the module's packages
}

func importGraph(t *testing.T) graph {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps,Error", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	g := graph{imports: map[string][]string{}, deps: map[string][]string{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
			Error         *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("reading go list: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		g.imports[p.ImportPath] = p.Imports
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			g.deps[p.ImportPath] = p.Deps
		}
	}
	return g
}

// path is a shortest chain of imports from one package to another.
func (g graph) path(from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, short(p))
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range g.imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{short(from), "...", short(to)}
}

func short(p string) string { return strings.TrimPrefix(p, module+"/") }
