package codegen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports the plugin host when its configuration
	// declares GatewayPlugins. Importing it here makes gwc depend on it, so
	// installing gwc puts go-plugin and gRPC in the module cache and such a
	// build needs no network.
	_ "github.com/gwc-dev/gwc/runtime/plugin/host"
)

// pluginsLiteral renders the plugin chain as a call to host.New.
func pluginsLiteral(plugins []ir.Plugin) string {
	var b strings.Builder
	b.WriteString("host.New([]host.Spec{\n")
	for _, p := range plugins {
		fmt.Fprintf(&b, "// %s\n{\n", comment(p.Origin.String()))
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
		if p.Config != "" {
			fmt.Fprintf(&b, "Config: []byte(%s),\n", strconv.Quote(p.Config))
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
