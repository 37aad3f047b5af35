package host

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the plugin when the ingress dies
// without stopping it (SIGKILL, OOM kill), so no plugin outlives its
// ingress. The signal follows the thread that started the plugin, not the
// process; the Go runtime ends a thread only when a goroutine locked to it
// returns, which the host's goroutines never are.
func dieWithParent(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
