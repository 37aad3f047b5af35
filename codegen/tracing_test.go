package codegen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gwc-dev/gwc/compiler"
)

// generateArchive generates the config of a compiler golden archive, its
// meshconfig.yaml as the mesh config.
func generateArchive(t *testing.T, name string) []File {
	t.Helper()
	ar, err := txtar.ParseFile("../compiler/testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir, meshDir := t.TempDir(), t.TempDir()
	var opts compiler.Options
	for _, f := range ar.Files {
		path := filepath.Join(dir, f.Name)
		switch {
		case f.Name == "meshconfig.yaml":
			path = filepath.Join(meshDir, f.Name)
			opts.MeshConfig = path
		case !strings.HasSuffix(f.Name, ".yaml"):
			continue
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := compiler.Run([]string{dir}, opts)
	if res.Config == nil {
		t.Fatal(res.Diags)
	}
	files, err := Generate(res.Config)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Only a configuration with tracing imports the tracing package, so only
// such a binary links the OpenTelemetry SDK; and the runtime itself never
// depends on it.
func TestTracingLinkedOnlyWhenEnabled(t *testing.T) {
	imports := func(files []File) bool {
		for _, f := range files {
			if bytes.Contains(f.Data, []byte(`"github.com/gwc-dev/gwc/runtime/tracing"`)) {
				return true
			}
		}
		return false
	}
	if !imports(generateArchive(t, "tracing")) {
		t.Error("a config with tracing does not import runtime/tracing")
	}
	if imports(generateArchive(t, "plugins")) {
		t.Error("a config without tracing imports runtime/tracing")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/gwc-dev/gwc/runtime").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(out), "go.opentelemetry.io") {
		t.Error("package runtime depends on OpenTelemetry: every binary would link it")
	}
}
