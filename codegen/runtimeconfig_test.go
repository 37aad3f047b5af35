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
	"github.com/gwc-dev/gwc/compiler/load"
)

// TestRuntimeConfigMatchesLiteral builds a real binary from a config that
// uses every route action and checks that the Config literal it holds is
// the one RuntimeConfig builds in memory, which gwc explain and gwc routes
// use: one mapping from IR to tables, not two. The TLS examples add HTTPS,
// mutual TLS, SNI and passthrough on one listener.
func TestRuntimeConfigMatchesLiteral(t *testing.T) {
	ar, err := txtar.ParseFile("../compiler/testdata/actions.txtar")
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
	res := load.Load([]string{dir, "../examples/tls"}, load.Options{Namespace: "default"})
	if res.Diags.HasErrors() {
		t.Fatal(res.Diags)
	}
	cfg, diags := compiler.Compile(res.Resources)
	if cfg == nil {
		t.Fatal(diags)
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
	if !bytes.Contains(fromBinary, []byte(`"Redirect":{`)) || !bytes.Contains(fromBinary, []byte(`"AllowPreviousHosts"`)) ||
		!bytes.Contains(fromBinary, []byte(`"CredentialName":"secure-credential"`)) || !bytes.Contains(fromBinary, []byte(`"SNI":["one.example.com"]`)) {
		t.Errorf("the dump lacks the route actions: %s", fromBinary)
	}
}
