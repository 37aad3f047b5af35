package ir

import (
	"strconv"
	"strings"
)

func dumpPlugins(p func(int, string, ...any), plugins []Plugin) {
	for _, pl := range plugins {
		strategy := "FAIL_CLOSE"
		if pl.FailOpen {
			strategy = "FAIL_OPEN"
		}
		phase := pl.Phase
		if phase == "" {
			phase = "UNSPECIFIED_PHASE"
		}
		p(0, "plugin %s %s priority %d %s timeout %s", pl.Name, phase, pl.Priority, strategy, pl.Timeout)
		p(1, "from %s", pl.Origin)
		p(1, "exec %s sha256 %q", pl.Path, pl.SHA256)
		if pl.Config != "" {
			p(1, "config %s", pl.Config)
		}
		for _, m := range pl.Matches {
			var parts []string
			for _, port := range m.Ports {
				parts = append(parts, "port "+strconv.Itoa(port))
			}
			for _, h := range m.Hosts {
				parts = append(parts, "host "+h)
			}
			for _, r := range m.Routes {
				parts = append(parts, "route "+r)
			}
			p(1, "match %s", strings.Join(parts, ", "))
		}
	}
}
