// Package gwc carries the source of gwc's runtime, which every generated
// ingress module contains, so that gwc can build ingress binaries from
// nothing but its own executable and a Go toolchain.
package gwc

import "embed"

// RuntimeFS holds runtime/ (test files and testdata are skipped when it is
// written out) and gwc's go.mod and go.sum, whose requirements the
// runtime's imports resolve against.
//
//go:embed runtime go.mod go.sum
var RuntimeFS embed.FS

// ModulePath is the module path generated code imports the runtime from.
const ModulePath = "github.com/gwc-dev/gwc"
