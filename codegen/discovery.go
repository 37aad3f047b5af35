package codegen

import (
	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports the Kubernetes discovery only when
	// built with --endpoints kubernetes. Importing it here also makes gwc
	// depend on it, so installing gwc puts client-go in the module cache
	// and such a build needs no network.
	"github.com/gwc-dev/gwc/runtime/kubernetes"
)

// runtimeDiscovery returns the endpoint discovery of cfg, not started;
// nil without one, as the generated Config, so that a binary built
// without --endpoints kubernetes links no Kubernetes client.
func runtimeDiscovery(cfg *ir.Config) *kubernetes.Discovery {
	if cfg.Endpoints != "kubernetes" {
		return nil
	}
	return kubernetes.New()
}
