package codegen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// stubGoBuild stands in for the toolchain: the end-to-end tests in
// cmd/gwc run the real one.
func stubGoBuild(t *testing.T, fn func(ctx context.Context, dir, out string) error) {
	old := GoBuild
	GoBuild = fn
	t.Cleanup(func() { GoBuild = old })
}

func TestBuildLeavesOutputAloneOnFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ingress")
	os.WriteFile(out, []byte("old"), 0o755)
	stubGoBuild(t, func(ctx context.Context, dir, tmp string) error {
		os.WriteFile(tmp, []byte("half"), 0o755)
		return errors.New("go build: exit status 1")
	})
	if err := Build(context.Background(), []File{{Name: "main.go", Data: []byte("package main")}}, out, ""); err == nil {
		t.Fatal("Build succeeded with a failing toolchain")
	}
	if data, _ := os.ReadFile(out); string(data) != "old" {
		t.Fatalf("output changed to %q", data)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".ingress.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestBuildWritesModule(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ingress")
	emit := filepath.Join(dir, "src")
	stubGoBuild(t, func(ctx context.Context, mod, tmp string) error {
		for _, f := range []string{"go.mod", "main.go", "gwc/go.mod", "gwc/runtime/config.go"} {
			if _, err := os.Stat(filepath.Join(mod, f)); err != nil {
				t.Errorf("generated module lacks %s", f)
			}
		}
		if m, _ := filepath.Glob(filepath.Join(mod, "gwc/runtime/*_test.go")); len(m) != 0 {
			t.Errorf("runtime tests copied into the module: %v", m)
		}
		return os.WriteFile(tmp, []byte("new"), 0o755)
	})
	if err := Build(context.Background(), []File{{Name: "main.go", Data: []byte("package main")}}, out, emit); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); string(data) != "new" {
		t.Fatalf("output is %q", data)
	}
	if _, err := os.Stat(filepath.Join(emit, "go.mod")); err != nil {
		t.Fatal("--emit-source directory not kept")
	}
}

func TestBuildEnvDropsUserGOFLAGS(t *testing.T) {
	env := buildEnv([]string{"GOFLAGS=-toolexec=evil", "CGO_ENABLED=1", "HOME=/h"})
	want := map[string]bool{"HOME=/h": true, "CGO_ENABLED=0": true, "GOFLAGS=-mod=mod": true}
	for _, kv := range env {
		if kv == "GOFLAGS=-toolexec=evil" || kv == "CGO_ENABLED=1" {
			t.Errorf("kept %s", kv)
		}
		delete(want, kv)
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
}
