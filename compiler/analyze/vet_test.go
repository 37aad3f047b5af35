package analyze_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
)

// vet runs what gwc vet runs on one file and renders the result.
func vet(t testing.TB, name string, data []byte) (diag.List, string) {
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	all := compiler.Run([]string{path}, compiler.Options{CredentialsDir: dir}).Diags
	var b bytes.Buffer
	all.Render(&b, func(string) []byte { return data })
	return all, b.String()
}

// TestHostileInput: whatever the bytes, vet ends with an error diagnostic
// that points into the file, never a panic or a hang.
func TestHostileInput(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("a: &a [x, x, x, x, x, x, x, x, x]\n")
	for i := 'b'; i <= 'z'; i++ {
		prev := string(i - 1)
		bomb.WriteString(string(i) + ": &" + string(i) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n")
	}
	big := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: big}\nspec:\n  hosts: [a.example.com]\n  http:\n" +
		strings.Repeat("  - route: [{destination: {host: web}}]\n    match: [{uri: {exact: /"+strings.Repeat("x", 20000)+"}}]\n", 55)
	cases := map[string]string{
		"empty.yaml":   "",
		"binary.yaml":  "\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n",
		"bomb.yaml":    bomb.String(),
		"big.yaml":     big,
		"deep.yaml":    strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		"deepmap.yaml": "spec:\n" + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000),
		"utf8.yaml":    "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: \"\xff\xfe\"}\n",
		"deep.json":    strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		"bad.cue":      "x: " + strings.Repeat("{a: ", 5000),
	}
	if len(big) < 1<<20 {
		t.Fatalf("big document is %d bytes, want a megabyte", len(big))
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			diags, _ := vet(t, name, []byte(data))
			switch name {
			case "empty.yaml":
				return // an empty file holds no resources: nothing to say
			case "big.yaml":
				if len(diags) == 0 {
					t.Fatal("no diagnostic for a megabyte VirtualService without gateways")
				}
				return // valid, if large
			}
			if !diags.HasErrors() {
				t.Fatalf("no error for %s (%d diagnostics)", name, len(diags))
			}
			for _, d := range diags {
				if d.Code == diag.CodeInternal {
					t.Errorf("internal error: %s", d)
				}
			}
		})
	}
}

// FuzzVet feeds arbitrary bytes to the loader, the analyzers, the
// compiler and the renderer: none may panic, and every diagnostic points
// into the file. Seeds: testdata/fuzz/FuzzVet.
func FuzzVet(f *testing.F) {
	f.Add([]byte("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: w}\nspec:\n  hosts: [a.example.com]\n  gateways: [gw]\n  http:\n  - match: [{uri: {regex: \"(\"}}]\n    route: [{destination: {host: web, subset: v1}}]\n  - route: [{destination: {host: x.example.com}}]\n  - route: [{destination: {host: web}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		diags, _ := vet(t, "fuzz.yaml", data)
		for _, d := range diags {
			if d.Code == diag.CodeInternal {
				t.Fatalf("%s", d)
			}
			if d.Pos.File != "" && !strings.HasSuffix(d.Pos.File, "fuzz.yaml") {
				t.Errorf("diagnostic outside the file: %s", d)
			}
		}
	})
}
