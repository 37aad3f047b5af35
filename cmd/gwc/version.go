package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: gwc version")
		return 2
	}
	fmt.Fprintf(stdout, "gwc %s\n", gwcVersion())
	return 0
}

// gwcVersion is the module version gwc was built from, "(devel)" for a
// source build.
func gwcVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}
