package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/plugin/host"
)

// GatewayPlugins in gwc routes and gwc explain. Which plugins a request
// passes through is decided by host.Spec.Selects, the function the
// binary's plugin chain calls for every request.

// chainSpecs returns the plugins of rc in the order their hooks run; nil
// when the configuration declares none.
func chainSpecs(rc *runtime.Config) []host.Spec {
	c, ok := rc.Plugins.(*host.Chain)
	if !ok || c == nil {
		return nil
	}
	return c.Specs()
}

func pluginPhase(s *host.Spec) string {
	if s.Phase == "" {
		return "UNSPECIFIED_PHASE"
	}
	return s.Phase
}

func failStrategy(s *host.Spec) string {
	if s.FailOpen {
		return "FAIL_OPEN"
	}
	return "FAIL_CLOSE"
}

// routePlugin is one plugin a route's requests pass through, in `gwc
// routes --format json`.
type routePlugin struct {
	Name         string `json:"name"`
	Phase        string `json:"phase"`
	Priority     int    `json:"priority"`
	FailStrategy string `json:"failStrategy"`
	// OnlyHosts is set when the plugin runs for some hosts of a wildcard
	// virtual host only: those its match names.
	OnlyHosts []string `json:"onlyHosts,omitempty"`
}

func (p routePlugin) String() string {
	s := fmt.Sprintf("%s[%s %d %s", p.Name, p.Phase, p.Priority, p.FailStrategy)
	if len(p.OnlyHosts) > 0 {
		s += "; if host " + strings.Join(p.OnlyHosts, ",")
	}
	return s + "]"
}

// routePlugins returns the plugins, in hook order, that run for requests
// of virtual host vi of listener l routed to rt. The host of an exact
// virtual host decides for all its requests; for a wildcard one, a plugin
// whose match names hosts runs for those of its hosts that reach this
// virtual host.
func routePlugins(specs []host.Spec, l *runtime.Listener, vi int, rt *runtime.Route) []routePlugin {
	var out []routePlugin
	domain := l.VirtualHosts[vi].Domain
	for i := range specs {
		s := &specs[i]
		p := routePlugin{Name: s.Name, Phase: pluginPhase(s), Priority: s.Priority, FailStrategy: failStrategy(s)}
		if s.Selects(l.Port, domain, rt.ID) {
			out = append(out, p)
			continue
		}
		if !strings.HasPrefix(domain, "*") {
			continue
		}
		for _, m := range s.Matches {
			hosts := m.Hosts
			m.Hosts = nil
			if len(hosts) == 0 || !m.Selects(l.Port, domain, rt.ID) {
				continue
			}
			for _, h := range hosts {
				// "*.suffix" stands for its hosts: the host table finds
				// the virtual host they reach, as for a request.
				if int(l.Hosts.Lookup(h)) == vi && !slices.Contains(p.OnlyHosts, h) {
					p.OnlyHosts = append(p.OnlyHosts, h)
				}
			}
		}
		if len(p.OnlyHosts) > 0 {
			out = append(out, p)
		}
	}
	return out
}

func describePlugins(ps []routePlugin) string {
	if len(ps) == 0 {
		return "-"
	}
	var parts []string
	for _, p := range ps {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, " > ")
}

// printPluginChain writes the plugin chain in hook order, with where each
// plugin was declared.
func printPluginChain(w io.Writer, irc *ir.Config, specs []host.Spec) {
	fmt.Fprintln(w, "plugins, in the order their hooks run")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPHASE\tPRIORITY\tNAME\tFAILSTRATEGY\tTIMEOUT\tMATCH\tFROM")
	for i := range specs {
		s := &specs[i]
		from := ""
		if i < len(irc.Plugins) {
			from = irc.Plugins[i].Origin.String()
		}
		fmt.Fprintf(tw, "  %d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", i, pluginPhase(s), s.Priority, s.Name, failStrategy(s), s.Timeout, describePluginMatch(s), from)
	}
	tw.Flush()
}

// describePluginMatch says what a plugin's match selects, one line.
func describePluginMatch(s *host.Spec) string {
	if len(s.Matches) == 0 {
		return "every request"
	}
	var alts []string
	for _, m := range s.Matches {
		var conds []string
		if len(m.Ports) > 0 {
			var ports []string
			for _, p := range m.Ports {
				ports = append(ports, strconv.Itoa(p))
			}
			conds = append(conds, "port "+strings.Join(ports, ","))
		}
		if len(m.Hosts) > 0 {
			conds = append(conds, "host "+strings.Join(m.Hosts, ","))
		}
		if len(m.Routes) > 0 {
			conds = append(conds, "route "+strings.Join(m.Routes, ","))
		}
		if len(conds) == 0 {
			conds = append(conds, "any")
		}
		alts = append(alts, strings.Join(conds, " "))
	}
	return strings.Join(alts, " | ")
}

// explainPlugins writes the plugins a request on port for host, routed to
// rt, passes through before the route's action, and those it skips.
func explainPlugins(w io.Writer, specs []host.Spec, port int, hostHeader string, rt *runtime.Route) {
	var skipped []string
	n := 0
	for i := range specs {
		s := &specs[i]
		if !s.Selects(port, hostHeader, rt.ID) {
			skipped = append(skipped, s.Name)
			continue
		}
		fmt.Fprintf(w, "plugin %-2d %s: phase %s, priority %d, %s, timeout %s\n", n, s.Name, pluginPhase(s), s.Priority, failStrategy(s), s.Timeout)
		n++
	}
	if n > 0 {
		fmt.Fprintln(w, "          in this order before the action; the first deny or redirect answers the request")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "skipped   %s: no match selects this request\n", strings.Join(skipped, ", "))
	}
}
