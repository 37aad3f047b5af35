package codegen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Platform is a target of go build, as container platforms name them:
// linux/amd64, linux/arm64, linux/arm/v7. The zero Platform is the build
// machine's own (or whatever GOOS and GOARCH the user set).
type Platform struct {
	OS, Arch, Variant string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// IsZero reports whether p is the build machine's platform.
func (p Platform) IsZero() bool { return p == Platform{} }

// ParsePlatforms parses a comma-separated list such as
// "linux/amd64,linux/arm64". Duplicates are an error, the order is kept.
func ParsePlatforms(s string) ([]Platform, error) {
	var out []Platform
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		parts := strings.Split(f, "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("platform %q: want OS/ARCH or OS/ARCH/VARIANT, e.g. linux/amd64", f)
		}
		p := Platform{OS: parts[0], Arch: parts[1]}
		if len(parts) == 3 {
			p.Variant = parts[2]
			if _, err := p.variantEnv(); err != nil {
				return nil, err
			}
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("platform %s named twice", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// variantEnv maps a platform variant to the Go environment variable that
// selects it.
func (p Platform) variantEnv() (string, error) {
	switch {
	case p.Variant == "":
		return "", nil
	case p.Arch == "arm" && (p.Variant == "v5" || p.Variant == "v6" || p.Variant == "v7"):
		return "GOARM=" + strings.TrimPrefix(p.Variant, "v"), nil
	case p.Arch == "arm64" && p.Variant == "v8":
		return "", nil
	case p.Arch == "amd64" && (p.Variant == "v1" || p.Variant == "v2" || p.Variant == "v3" || p.Variant == "v4"):
		return "GOAMD64=" + p.Variant, nil
	}
	return "", fmt.Errorf("platform %s: variant %q is not one Go can build for (arm: v5, v6, v7; arm64: v8; amd64: v1 to v4)", p, p.Variant)
}

// CheckPlatforms asks the Go toolchain whether it can build for each of
// ps, so that a typo fails before anything is compiled.
func CheckPlatforms(ctx context.Context, ps []Platform) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go command is not on PATH: gwc needs a Go 1.26 toolchain to build the ingress")
	}
	cmd := exec.CommandContext(ctx, gobin, "tool", "dist", "list")
	cmd.Env = buildEnv(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("listing the platforms Go can build for: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	known := strings.Fields(string(out))
	for _, p := range ps {
		if !slices.Contains(known, p.OS+"/"+p.Arch) {
			return fmt.Errorf("platform %s: Go cannot build for %s/%s (see go tool dist list)", p, p.OS, p.Arch)
		}
	}
	return nil
}
