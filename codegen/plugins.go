package codegen

import (
	"encoding/json"

	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports the plugin host when its configuration
	// declares GatewayPlugins. Importing it here also makes gwc depend on
	// it, so installing gwc puts go-plugin and gRPC in the module cache and
	// such a build needs no network.
	"github.com/gwc-dev/gwc/runtime/plugin/host"
)

// pluginSpec is the host.Spec of a plugin: RuntimeConfig holds it and the
// printer writes it, so gwc routes and explain show what the binary runs.
func pluginSpec(p ir.Plugin) host.Spec {
	s := host.Spec{
		Name: p.Name, Path: p.Path, SHA256: p.SHA256, Phase: p.Phase, Priority: p.Priority,
		FailOpen: p.FailOpen, Timeout: p.Timeout,
	}
	if p.Config != "" {
		s.Config = json.RawMessage(p.Config)
	}
	for _, m := range p.Matches {
		s.Matches = append(s.Matches, host.Match{Ports: m.Ports, Hosts: m.Hosts, Routes: m.Routes})
	}
	return s
}

// runtimePlugins returns the chain of cfg's plugins, not started; nil
// without plugins, as the generated Config.
func runtimePlugins(cfg *ir.Config) *host.Chain {
	if len(cfg.Plugins) == 0 {
		return nil
	}
	specs := make([]host.Spec, 0, len(cfg.Plugins))
	for _, p := range cfg.Plugins {
		specs = append(specs, pluginSpec(p))
	}
	return host.New(specs)
}
