package load

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// TestGolden loads the files of each testdata/*.txtar archive and compares
// every diagnostic, as printed, and every resource returned with the
// archive's "want" file.
//
// Special files: "args" lists the paths to load, one a line (default: .);
// "namespace" gives Options.Namespace. A file whose name ends in "/" is
// created as an empty directory.
func TestGolden(t *testing.T) {
	archives, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(archives) == 0 {
		t.Fatal("no testdata/*.txtar archives")
	}
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				t.Fatal(err)
			}
			got := runArchive(t, ar)
			want := ""
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
				}
			}
			if got == want {
				return
			}
			if *update {
				writeWant(t, abs, ar, got)
				return
			}
			t.Errorf("%s: output differs (run with -update to accept)\n--- got\n%s--- want\n%s", path, got, want)
		})
	}
}

func runArchive(t *testing.T, ar *txtar.Archive) string {
	dir := t.TempDir()
	paths := []string{"."}
	var opts Options
	for _, f := range ar.Files {
		switch {
		case f.Name == "want":
		case f.Name == "args":
			paths = strings.Fields(string(f.Data))
		case f.Name == "namespace":
			opts.Namespace = strings.TrimSpace(string(f.Data))
		case strings.HasSuffix(f.Name, "/"):
			if err := os.MkdirAll(filepath.Join(dir, f.Name), 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Chdir(dir)
	res := Load(paths, opts)
	var b strings.Builder
	for _, d := range res.Diags {
		fmt.Fprintln(&b, d)
	}
	for _, r := range res.Resources {
		fmt.Fprintf(&b, "resource %s %s %s\n", r.APIVersion, r.ID(), r.Pos)
	}
	return b.String()
}

func writeWant(t *testing.T, path string, ar *txtar.Archive, got string) {
	found := false
	for i := range ar.Files {
		if ar.Files[i].Name == "want" {
			ar.Files[i].Data = []byte(got)
			found = true
		}
	}
	if !found {
		ar.Files = append(ar.Files, txtar.File{Name: "want", Data: []byte(got)})
	}
	if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}
