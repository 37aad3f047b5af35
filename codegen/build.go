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

// GoBuildPlatform is GoBuild for a named platform; a variable for the same
// reason.
var GoBuildPlatform = goBuildPlatform

func goBuild(ctx context.Context, dir, out string) error {
	return goBuildPlatform(ctx, dir, out, Platform{})
}

func goBuildPlatform(ctx context.Context, dir, out string, p Platform) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go command is not on PATH: gwc needs a Go 1.26 toolchain to build the ingress")
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	env := buildEnv(os.Environ())
	if !p.IsZero() {
		env, err = platformEnv(env, p)
		if err != nil {
			return err
		}
	}
	cmd.Env = env
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

// platformEnv sets GOOS and GOARCH for p and drops every per-architecture
// variable the user may have set (GOAMD64=v3 would make a binary that
// differs from, and runs on fewer machines than, the one the platform
// names), so that a platform always gives the same binary.
func platformEnv(env []string, p Platform) ([]string, error) {
	variant, err := p.variantEnv()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "GOAMD64", "GOARM", "GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM":
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "GOOS="+p.OS, "GOARCH="+p.Arch)
	if variant != "" {
		out = append(out, variant)
	}
	return out, nil
}

// Target is one binary to build: a platform and where to write it.
type Target struct {
	Platform Platform
	Out      string
}

// Build writes the generated module into a temporary directory (or into
// emitDir, which is kept), builds it and moves the binary to out in one
// rename: on any failure out is left as it was.
func Build(ctx context.Context, files []File, out, emitDir string) error {
	return BuildTargets(ctx, files, emitDir, []Target{{Out: out}})
}

// BuildTargets is Build for several platforms from one generated module.
// Every binary is built aside first and the outputs are renamed into place
// only when all of them have built.
func BuildTargets(ctx context.Context, files []File, emitDir string, targets []Target) error {
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
	type built struct{ tmp, out string }
	var done []built
	defer func() {
		for _, b := range done {
			os.Remove(b.tmp)
		}
	}()
	for _, t := range targets {
		abs, err := filepath.Abs(t.Out)
		if err != nil {
			return fmt.Errorf("resolving output path: %w", err)
		}
		tmpOut, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
		if err != nil {
			return fmt.Errorf("creating the output binary: %w", err)
		}
		tmpOut.Close()
		done = append(done, built{tmpOut.Name(), abs})
		if t.Platform.IsZero() {
			err = GoBuild(ctx, dir, tmpOut.Name())
		} else {
			err = GoBuildPlatform(ctx, dir, tmpOut.Name(), t.Platform)
			if err != nil {
				err = fmt.Errorf("building for %s: %w", t.Platform, err)
			}
		}
		if err != nil {
			return err
		}
	}
	for _, b := range done {
		if err := os.Rename(b.tmp, b.out); err != nil {
			return fmt.Errorf("writing the output binary: %w", err)
		}
	}
	return nil
}
