package codegen

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// checkTables runs, on the tables the literal will hold (RuntimeConfig
// builds the same values in memory), the part of the runtime's Prepare that
// a Generated config defers: every virtual host's routes. What is global
// (TLS, cluster policies, which RuntimeConfig does not all build) the binary
// checks at start. The literal is marked Generated, and a generated binary
// prepares each virtual host on its first request instead of at start
// (runtime/lazyprep.go): this check makes that safe, since a route the
// runtime would reject fails the build here rather than a request there.
func checkTables(cfg *ir.Config) error {
	rc, err := RuntimeConfig(cfg)
	if err != nil {
		return fmt.Errorf("checking the route tables: %w", err)
	}
	if err := rc.PrepareVirtualHosts(); err != nil {
		return fmt.Errorf("checking the route tables: %w", err)
	}
	return nil
}
