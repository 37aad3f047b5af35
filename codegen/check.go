package codegen

import (
	"fmt"

	"github.com/gwc-dev/gwc/runtime"
)

// checkTables runs, on the lowered tables the literal holds, the part of
// the runtime's Prepare that a Generated config defers: every virtual
// host's routes. What is global (listeners, TLS, cluster policies) the
// binary checks at start. A generated binary prepares each virtual host on
// its first request instead of at start (runtime/lazyprep.go): this check
// makes that safe, since a route the runtime would reject fails the build
// here rather than a request there.
func checkTables(rc *runtime.Config) error {
	if err := rc.PrepareVirtualHosts(); err != nil {
		return fmt.Errorf("checking the route tables: %w", err)
	}
	return nil
}
