package codegen

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gwc-dev/gwc"
)

// generatedModule is the module path of every generated ingress; fixed, so
// that builds do not depend on where they happen.
const generatedModule = "gwc.generated/ingress"

// moduleFiles returns every file of the generated module: go.mod, the
// generated sources, and the runtime's source under gwc/ with gwc's own
// go.mod and go.sum, which the main module's replace directive points at.
func moduleFiles(files []File) ([]File, error) {
	out := []File{{Name: "go.mod", Data: []byte(fmt.Sprintf(
		"module %s\n\ngo 1.26\n\nrequire %s v0.0.0\n\nreplace %s => ./gwc\n", generatedModule, gwc.ModulePath, gwc.ModulePath))}}
	out = append(out, files...)
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := fs.ReadFile(gwc.RuntimeFS, name)
		if err != nil {
			return nil, fmt.Errorf("reading the embedded %s: %w", name, err)
		}
		// gwc's own requirements pin the versions of whatever the runtime
		// imports; its go.sum serves the main module too.
		out = append(out, File{Name: "gwc/" + name, Data: data})
		if name == "go.sum" {
			out = append(out, File{Name: name, Data: data})
		}
	}
	err := fs.WalkDir(gwc.RuntimeFS, "runtime", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		data, err := fs.ReadFile(gwc.RuntimeFS, p)
		if err != nil {
			return err
		}
		out = append(out, File{Name: path.Join("gwc", p), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the embedded runtime: %w", err)
	}
	return out, nil
}

// WriteModule writes the generated module into dir, touching only files
// whose content changed, so an editor or a build cache watching dir sees
// real changes only.
func WriteModule(dir string, files []File) error {
	all, err := moduleFiles(files)
	if err != nil {
		return err
	}
	for _, f := range all {
		name := filepath.Join(dir, filepath.FromSlash(f.Name))
		if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("writing the generated module: %w", err)
		}
		if err := os.WriteFile(name, f.Data, 0o644); err != nil {
			return fmt.Errorf("writing the generated module: %w", err)
		}
	}
	return nil
}
