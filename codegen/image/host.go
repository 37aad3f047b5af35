package image

import (
	"os"
	"runtime"

	"github.com/gwc-dev/gwc/codegen"
)

// hostPlatform is the platform go build targets when gwc names none: the
// machine's, unless the user's GOOS and GOARCH say otherwise.
func hostPlatform() codegen.Platform {
	p := codegen.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if v := os.Getenv("GOOS"); v != "" {
		p.OS = v
	}
	if v := os.Getenv("GOARCH"); v != "" {
		p.Arch = v
	}
	return p
}
