package codegen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GoBuild compiles the module in dir into the binary out. It is a variable
// so that unit tests can stand in for the toolchain; end-to-end tests run
// the real one.
var GoBuild = goBuild

func goBuild(ctx context.Context, dir, out string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go command is not on PATH: gwc needs a Go 1.26 toolchain to build the ingress")
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = buildEnv(os.Environ())
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w:\n%s", err, strings.TrimSpace(output.String()))
	}
	return nil
}

// buildEnv fixes the environment of go build: a static binary, module mode,
// no workspace, the local toolchain, and none of the user's GOFLAGS, which
// could change what gets built (-toolexec, -overlay, -modfile). Modules
// come from the module cache, so a machine that built gwc builds offline.
func buildEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "CGO_ENABLED", "GOWORK", "GO111MODULE", "GOTOOLCHAIN":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "CGO_ENABLED=0", "GOWORK=off", "GO111MODULE=on", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
}

// Build writes the generated module into a temporary directory (or into
// emitDir, which is kept), builds it and moves the binary to out in one
// rename: on any failure out is left as it was.
func Build(ctx context.Context, files []File, out, emitDir string) error {
	dir := emitDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gwc-build-")
		if err != nil {
			return fmt.Errorf("creating the build directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := WriteModule(dir, files); err != nil {
		return err
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("resolving output path: %w", err)
	}
	tmpOut, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return fmt.Errorf("creating the output binary: %w", err)
	}
	tmpOut.Close()
	defer os.Remove(tmpOut.Name())
	if err := GoBuild(ctx, dir, tmpOut.Name()); err != nil {
		return err
	}
	if err := os.Rename(tmpOut.Name(), abs); err != nil {
		return fmt.Errorf("writing the output binary: %w", err)
	}
	return nil
}
