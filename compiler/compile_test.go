package compiler_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/ir"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden compiles each testdata/*.txtar archive: the files outside
// want/ are the input, want/diagnostics the expected diagnostics and
// want/ir the expected IR dump (absent when compilation fails).
func TestGolden(t *testing.T) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	for i, a := range archives {
		archives[i], _ = filepath.Abs(a) // each subtest changes directory
	}
	if len(archives) == 0 {
		t.Fatal("no golden archives in testdata")
	}
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			diags, dump := compileArchive(t, ar)
			want := map[string]string{}
			for _, f := range ar.Files {
				want[f.Name] = string(f.Data)
			}
			if *update {
				var files []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "want/") {
						files = append(files, f)
					}
				}
				if diags != "" {
					files = append(files, txtar.File{Name: "want/diagnostics", Data: []byte(diags)})
				}
				if dump != "" {
					files = append(files, txtar.File{Name: "want/ir", Data: []byte(dump)})
				}
				ar.Files = files
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := diags; got != want["want/diagnostics"] {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want["want/diagnostics"])
			}
			if got := dump; got != want["want/ir"] {
				t.Errorf("ir:\n%s\nwant:\n%s", got, want["want/ir"])
			}
		})
	}
}

// compileArchive writes the archive's inputs to a directory and runs the
// pipeline as gwc build does from there, so positions read
// "gateway.yaml:3:5".
func compileArchive(t *testing.T, ar *txtar.Archive) (diags, dump string) {
	t.Helper()
	res := runArchive(t, ar)
	var b strings.Builder
	for _, d := range res.Diags {
		// Every diagnostic carries a stable code (docs/validation.md).
		if d.Code == "" {
			t.Errorf("diagnostic without a code: %s", d)
		}
		b.WriteString(d.String() + "\n")
	}
	if res.Config == nil {
		return b.String(), ""
	}
	return b.String(), ir.Dump(res.Config)
}

// runArchive runs the pipeline on the archive's inputs, as gwc build
// does; an archive's meshconfig.yaml is the mesh config (--mesh-config),
// not an input.
func runArchive(t *testing.T, ar *txtar.Archive) *compiler.Result {
	t.Helper()
	var opts compiler.Options
	inputs := writeInputs(t, ar)
	if i := slices.Index(inputs, "meshconfig.yaml"); i >= 0 {
		opts.MeshConfig = inputs[i]
		inputs = slices.Delete(inputs, i, i+1)
	}
	return compiler.Run(inputs, opts)
}

// writeInputs writes the archive's inputs (everything but want/) to a new
// directory, changes into it, and returns their names.
func writeInputs(t *testing.T, ar *txtar.Archive) []string {
	t.Helper()
	dir := t.TempDir()
	var inputs []string
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "want/") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, f.Name)
	}
	t.Chdir(dir)
	return inputs
}
