//go:build !linux

package host

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; there a killed ingress leaves its plugins running.
func dieWithParent(*exec.Cmd) {}
