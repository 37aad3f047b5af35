package ir

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Dump renders cfg as indented text, for golden tests and bug reports
// (gwc build --dump-ir).
func Dump(cfg *Config) string {
	var b strings.Builder
	p := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	p(0, "digest %s", cfg.Digest)
	for _, s := range cfg.Sources {
		p(0, "source %s", s)
	}
	for _, l := range cfg.Listeners {
		p(0, "listener %s %s", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		for _, s := range l.Servers {
			p(1, "server %s", s)
		}
		for _, vh := range l.VirtualHosts {
			p(1, "vhost %s", vh.Domain)
			for _, r := range vh.Routes {
				p(2, "route %s", r.Origin)
				for _, m := range r.Matches {
					p(3, "match%s", dumpMatch(m))
				}
				for _, d := range r.Destinations {
					p(3, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
				}
				if len(r.Compression) > 0 {
					p(3, "compress %s", strings.Join(r.Compression, ","))
				}
			}
		}
	}
	for _, c := range cfg.Clusters {
		kind := "static"
		if c.Resolve {
			kind = "dns"
		}
		p(0, "cluster %s %s", c.Name, kind)
		if c.Origin != nil {
			p(1, "from %s", c.Origin)
		}
		for _, e := range c.Endpoints {
			p(1, "endpoint %s weight %d", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), e.Weight)
		}
	}
	return b.String()
}

func dumpMatch(m Match) string {
	var b strings.Builder
	one := func(what string, s StringMatch) {
		if s.Kind == "" {
			return
		}
		fmt.Fprintf(&b, " %s %s", what, s.Kind)
		if s.Kind != "present" {
			fmt.Fprintf(&b, " %q", s.Value)
		}
	}
	one("uri", m.URI)
	one("method", m.Method)
	for _, h := range m.Headers {
		one("header "+h.Name, h.Match)
	}
	if b.Len() == 0 {
		return " any"
	}
	return b.String()
}
