package codegen

import (
	"fmt"
	"strconv"
	"strings"

	"encoding/json"

	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports the plugin host when its configuration
	// declares GatewayPlugins. Importing it here also makes gwc depend on
	// it, so installing gwc puts go-plugin and gRPC in the module cache and
	// such a build needs no network.
	"github.com/gwc-dev/gwc/runtime/plugin/host"
)

// pluginSpec is the host.Spec of a plugin: RuntimeConfig holds it and
// pluginsLiteral prints it, so gwc routes and explain show what the binary
// runs.
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

// pluginsLiteral renders the plugin chain as a call to host.New.
func pluginsLiteral(plugins []ir.Plugin) string {
	var b strings.Builder
	b.WriteString("host.New([]host.Spec{\n")
	for _, ip := range plugins {
		fmt.Fprintf(&b, "// %s\n{\n", comment(ip.Origin.String()))
		p := pluginSpec(ip)
		fmt.Fprintf(&b, "Name: %s,\nPath: %s,\n", strconv.Quote(p.Name), strconv.Quote(p.Path))
		if p.SHA256 != "" {
			fmt.Fprintf(&b, "SHA256: %s,\n", strconv.Quote(p.SHA256))
		}
		if p.Phase != "" {
			fmt.Fprintf(&b, "Phase: %s,\n", strconv.Quote(p.Phase))
		}
		if p.Priority != 0 {
			fmt.Fprintf(&b, "Priority: %d,\n", p.Priority)
		}
		if len(p.Config) > 0 {
			fmt.Fprintf(&b, "Config: []byte(%s),\n", strconv.Quote(string(p.Config)))
		}
		if p.FailOpen {
			b.WriteString("FailOpen: true,\n")
		}
		fmt.Fprintf(&b, "Timeout: %d, // %s\n", int64(p.Timeout), p.Timeout)
		if len(p.Matches) > 0 {
			b.WriteString("Matches: []host.Match{\n")
			for _, m := range p.Matches {
				b.WriteString("{")
				if len(m.Ports) > 0 {
					b.WriteString("Ports: []int{")
					for i, port := range m.Ports {
						if i > 0 {
							b.WriteString(", ")
						}
						b.WriteString(strconv.Itoa(port))
					}
					b.WriteString("}, ")
				}
				if len(m.Hosts) > 0 {
					fmt.Fprintf(&b, "Hosts: %s, ", stringsLiteral(m.Hosts))
				}
				if len(m.Routes) > 0 {
					fmt.Fprintf(&b, "Routes: %s, ", stringsLiteral(m.Routes))
				}
				b.WriteString("},\n")
			}
			b.WriteString("},\n")
		}
		b.WriteString("},\n")
	}
	b.WriteString("})")
	return b.String()
}
