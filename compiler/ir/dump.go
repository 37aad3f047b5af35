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
		if c.Subset != "" {
			p(1, "subset %s", c.Subset)
		}
		for _, e := range c.Endpoints {
			extra := ""
			if len(e.Labels) > 0 {
				extra += " labels " + strings.Join(e.Labels, ",")
			}
			if e.Locality != "" {
				extra += " locality " + e.Locality
			}
			p(1, "endpoint %s weight %d%s", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), e.Weight, extra)
		}
		if c.Policy != nil {
			dumpPolicy(p, c.Policy)
		}
	}
	dumpPlugins(p, cfg.Plugins)
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

func dumpPolicy(p func(int, string, ...any), pol *Policy) {
	p(1, "policy from %s", pol.Origin)
	lb := pol.LB
	h := pol.Hash
	switch {
	case h.Header != "":
		lb += " header " + h.Header
	case h.Cookie != "":
		lb += fmt.Sprintf(" cookie %s path %q ttl %s", h.Cookie, h.CookiePath, h.CookieTTL)
		if len(h.CookieAttributes) > 0 {
			lb += " attributes " + strings.Join(h.CookieAttributes, ";")
		}
	case h.SourceIP:
		lb += " source-ip"
	case h.QueryParam != "":
		lb += " query " + h.QueryParam
	}
	if pol.TableSize > 0 {
		lb += fmt.Sprintf(" table %d", pol.TableSize)
	}
	p(2, "lb %s", lb)
	if c := pol.Pool; c != (ConnectionPool{}) {
		idle := c.IdleTimeout.String()
		if c.IdleTimeout < 0 {
			idle = "off"
		}
		p(2, "pool maxConnections %d maxPending %d maxRequests %d maxRetries %d maxRequestsPerConnection %d connectTimeout %s idleTimeout %s",
			c.MaxConnections, c.MaxPendingRequests, c.MaxRequests, c.MaxRetries, c.MaxRequestsPerConnection, c.ConnectTimeout, idle)
		if c.MaxConnectionDuration > 0 {
			p(2, "maxConnectionDuration %s", c.MaxConnectionDuration)
		}
		if k := c.KeepAlive; k != nil {
			p(2, "keepalive probes %d time %s interval %s", k.Probes, k.Time, k.Interval)
		}
	}
	if o := pol.Outlier; o != nil {
		p(2, "outlier consecutive5xx %d consecutiveGateway %d interval %s baseEjection %s maxEjection %d%% minHealth %d%%",
			o.Consecutive5xx, o.ConsecutiveGateway, o.Interval, o.BaseEjectionTime, o.MaxEjectionPercent, o.MinHealthPercent)
		if o.SplitLocalOrigin {
			p(2, "outlier split local origin: consecutive %d", o.ConsecutiveLocalOrigin)
		}
	}
	if t := pol.TLS; t != nil {
		p(2, "tls ca %q cert %q key %q sni %q sans %v insecure %t", t.CACertificates, t.ClientCertificate, t.PrivateKey, t.SNI, t.SubjectAltNames, t.InsecureSkipVerify)
	}
}
