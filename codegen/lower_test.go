package codegen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gwc-dev/gwc/compiler"
)

// TestRuntimeConfigMatchesLiteral builds real binaries from configs that
// use every route action (actions), TLS servers and connection routes
// (l4) and cluster policies (destinationrules), and checks that the
// Config literal each holds is the one RuntimeConfig builds in memory,
// which gwc explain and gwc routes use: one lowering, printed.
func TestRuntimeConfigMatchesLiteral(t *testing.T) {
	for _, name := range []string{"actions", "l4", "destinationrules"} {
		t.Run(name, func(t *testing.T) { literalMatches(t, name) })
	}
}

func literalMatches(t *testing.T, name string) {
	ar, err := txtar.ParseFile("../compiler/testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".yaml") {
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := compiler.Run([]string{dir}, compiler.Options{Namespace: "default"})
	cfg := res.Config
	if cfg == nil {
		t.Fatal(res.Diags)
	}
	files, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// An extra file prints the literal and exits before Main runs.
	files = append(files, File{Name: "dump.go", Data: []byte(`package main

import (
	"encoding/json"
	"os"
)

func init() {
	if os.Getenv("GWC_DUMP_CONFIG") != "" {
		json.NewEncoder(os.Stdout).Encode(config)
		os.Exit(0)
	}
}
`)})
	bin := filepath.Join(t.TempDir(), "ingress")
	if err := Build(context.Background(), files, bin, ""); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "GWC_DUMP_CONFIG=1")
	fromBinary, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the binary: %v", err)
	}
	rc, err := RuntimeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var inMemory bytes.Buffer
	if err := json.NewEncoder(&inMemory).Encode(rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromBinary, inMemory.Bytes()) {
		t.Errorf("the binary's Config differs from RuntimeConfig's:\nbinary:    %s\nin memory: %s", fromBinary, inMemory.Bytes())
	}
	want := map[string][]string{
		"actions":          {`"Redirect":{`, `"AllowPreviousHosts":true`},
		"l4":               {`"L4":[{`, `"TCP":{`, `"Mode":1`},
		"destinationrules": {`"Policy":{`, `"Outlier":{`, `"KeepAlive":{`},
	}
	for _, w := range want[name] {
		if !bytes.Contains(fromBinary, []byte(w)) {
			t.Errorf("the dump lacks %s: %s", w, fromBinary)
		}
	}
}
