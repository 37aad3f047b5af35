package ir

import (
	"fmt"
	"net"
	"slices"
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
	if cfg.Endpoints != "" {
		p(0, "endpoints %s", cfg.Endpoints)
	}
	for _, s := range cfg.Sources {
		p(0, "source %s", s)
	}
	for _, l := range cfg.Workload.Selector {
		p(0, "selector %s=%s from %s", l.Key, l.Value, l.Origin)
	}
	for _, c := range cfg.Workload.Credentials {
		p(0, "credential %s", c)
	}
	if t := cfg.Topology; t.Origin != nil {
		p(0, "topology numTrustedProxies=%d forwardClientCertDetails=%q proxyProtocol=%t from %s",
			t.NumTrustedProxies, t.ForwardClientCertDetails, t.ProxyProtocol, t.Origin)
	}
	for _, l := range cfg.Listeners {
		p(0, "listener %s %s", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		for _, s := range l.Servers {
			p(1, "server %s", s)
		}
		for _, r := range l.L4 {
			p(1, "l4 route %s%s", r.Origin, dumpSNI(r.SNI))
			for _, d := range r.Destinations {
				p(2, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
			}
		}
		for i, t := range l.TLS {
			p(1, "tls %d %s sni %s%s", i, t.Mode, strings.Join(t.SNI, ","), dumpTLS(t))
			if t.TCP != nil {
				p(2, "tcp route %s", t.TCP.Origin)
				for _, d := range t.TCP.Destinations {
					p(3, "-> %s weight %d", cfg.Clusters[d.Cluster].Name, d.Weight)
				}
			}
		}
		for _, vh := range l.VirtualHosts {
			p(1, "vhost %s%s", vh.Domain, dumpVHostTLS(vh))
			if rl := vh.RateLimit; rl != nil {
				p(2, "rate limit %d per %s burst %d from %s", rl.Requests, rl.Interval, rl.Burst, rl.Origin)
			}
			for _, r := range vh.Routes {
				p(2, "route %s", r.Origin)
				for _, m := range r.Matches {
					p(3, "match%s", dumpMatch(m))
				}
				for _, d := range r.Destinations {
					ops := dumpOps(d.RequestHeaders, d.ResponseHeaders)
					if ops != "" && r.DestinationHeadersLast {
						ops += " (after the route's)"
					}
					p(3, "-> %s weight %d%s%s", cfg.Clusters[d.Cluster].Name, d.Weight, ops, dumpAuthority(d.Authority))
				}
				for _, line := range dumpActions(r) {
					p(3, "%s", line)
				}
				if len(r.Compression) > 0 {
					p(3, "compress %s", strings.Join(r.Compression, ","))
				}
				if r.MaxRequestBytes > 0 {
					p(3, "max request body %d bytes", r.MaxRequestBytes)
				}
			}
		}
	}
	for _, c := range cfg.Clusters {
		kind := "static"
		if c.Resolve {
			kind = "dns"
		}
		if c.Service != nil {
			kind = "kubernetes"
		}
		p(0, "cluster %s %s", c.Name, kind)
		if c.Origin != nil {
			p(1, "from %s", c.Origin)
		}
		if c.Subset != "" {
			p(1, "subset %s", c.Subset)
		}
		if c.HTTP2 {
			p(1, "protocol h2c")
		}
		if s := c.Service; s != nil {
			extra := ""
			if len(s.Labels) > 0 {
				extra = " labels " + strings.Join(s.Labels, ",")
			}
			p(1, "kubernetes service %s/%s port %d%s", s.Namespace, s.Name, s.Port, extra)
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
	dumpAuthz(p, cfg.Authz)
	dumpTracing(p, cfg.Tracing)
	dumpJWTRules(p, cfg.JWTRules)
	return b.String()
}

func dumpTracing(p func(int, string, ...any), t *Tracing) {
	if t == nil {
		return
	}
	p(0, "tracing provider %s %s sampling %g%% from %s", t.Provider, t.Kind, t.SamplingPercent, t.Origin)
	if t.Service != "" {
		p(1, "endpoint %s path %q", net.JoinHostPort(t.Service, strconv.Itoa(t.Port)), t.HTTPPath)
	}
	if t.DisableSpanReporting {
		p(1, "span reporting disabled")
	}
	for _, c := range t.CustomTags {
		p(1, "tag %s %s %q default %q", c.Name, c.Kind, c.Value, c.Default)
	}
	for _, o := range t.Operations {
		p(1, "operation %q port %d for %s", o.Operation, o.Port, o.Route)
	}
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
	for _, h := range m.WithoutHeaders {
		one("without "+h.Name, h.Match)
	}
	for _, q := range m.Query {
		one("query "+q.Name, q.Match)
	}
	if m.IgnoreURICase {
		b.WriteString(" ignoreUriCase")
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
		lb += fmt.Sprintf(" cookie %s path %q", h.Cookie, h.CookiePath)
		if h.CookieGenerate {
			lb += fmt.Sprintf(" ttl %s", h.CookieTTL)
		}
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
		if t.CredentialName != "" {
			p(2, "tls credential %q mutual %t", t.CredentialName, t.Mutual)
		}
	}
}

// dumpActions lists a route's actions other than its destinations, one a
// line, leaving out what is at Istio's default.
func dumpActions(r Route) []string {
	var out []string
	if d := r.Redirect; d != nil {
		out = append(out, fmt.Sprintf("redirect %d scheme %q authority %q port %d path %q", d.Code, d.Scheme, d.Authority, d.Port, d.Path))
	}
	if d := r.DirectResponse; d != nil {
		out = append(out, fmt.Sprintf("direct response %d body %q", d.Status, d.Body))
	}
	if w := r.Rewrite; w != nil {
		out = append(out, fmt.Sprintf("rewrite uri %q prefix %q whole %t ignorecase %t regex %q -> %q authority %q",
			w.URI, w.MatchedPrefix, w.WholePath, w.IgnoreCase, w.RegexMatch, w.RegexSubst, w.Authority))
	}
	if ops := dumpOps(r.RequestHeaders, r.ResponseHeaders); ops != "" {
		out = append(out, "headers"+ops)
	}
	if r.TimeoutMS > 0 {
		out = append(out, fmt.Sprintf("timeout %dms", r.TimeoutMS))
	}
	if f := r.Fault; f != nil {
		out = append(out, fmt.Sprintf("fault delay %dms at %v%% abort %d grpc %d at %v%%", f.DelayMS, f.DelayPercent, f.AbortStatus, f.AbortGRPC, f.AbortPercent))
	}
	for _, m := range r.Mirrors {
		out = append(out, fmt.Sprintf("mirror cluster %d at %v%%", m.Cluster, m.Percent))
	}
	if c := r.CORS; c != nil {
		out = append(out, fmt.Sprintf("cors origins %v methods %q headers %q expose %q max-age %q credentials %t forward-unmatched %t",
			c.AllowOrigins, c.AllowMethods, c.AllowHeaders, c.ExposeHeaders, c.MaxAge, c.AllowCredentials, c.ForwardUnmatchedPreflights))
	}
	rp := r.Retry
	if rp.Attempts == DefaultRetry.Attempts && slices.Equal(rp.On, DefaultRetry.On) && len(rp.StatusCodes) == 0 &&
		rp.PerTryTimeoutMS == 0 && rp.BackoffMS == 0 && !rp.AllowPreviousHosts {
		return out
	}
	out = append(out, fmt.Sprintf("retries %d per-try %dms on %s codes %v", rp.Attempts, rp.PerTryTimeoutMS, strings.Join(rp.On, ","), rp.StatusCodes))
	return out
}

func dumpOps(req, resp HeaderOps) string {
	var b strings.Builder
	one := func(dir string, o HeaderOps) {
		for _, h := range o.Set {
			fmt.Fprintf(&b, " %s set %s=%q", dir, h.Name, h.Value)
		}
		for _, h := range o.Add {
			fmt.Fprintf(&b, " %s add %s=%q", dir, h.Name, h.Value)
		}
		for _, n := range o.Remove {
			fmt.Fprintf(&b, " %s remove %s", dir, n)
		}
	}
	one("request", req)
	one("response", resp)
	return b.String()
}

func dumpAuthority(a string) string {
	if a == "" {
		return ""
	}
	return fmt.Sprintf(" authority %q", a)
}

func dumpTLS(t ServerTLS) string {
	var b strings.Builder
	if t.CredentialName != "" {
		fmt.Fprintf(&b, " credential %s", t.CredentialName)
	}
	for _, f := range [][2]string{{"cert", t.ServerCertificate}, {"key", t.PrivateKey}, {"ca", t.CACertificates}} {
		if f[1] != "" {
			fmt.Fprintf(&b, " %s %s", f[0], f[1])
		}
	}
	for _, n := range t.CredentialNames {
		fmt.Fprintf(&b, " credential %s", n)
	}
	for _, p := range t.Certificates {
		fmt.Fprintf(&b, " cert %s key %s", p.Certificate, p.Key)
	}
	if t.CRL != "" {
		fmt.Fprintf(&b, " crl %s", t.CRL)
	}
	if t.InsecureSkipVerify {
		b.WriteString(" insecure-skip-verify")
	}
	if t.CACredentialName != "" {
		fmt.Fprintf(&b, " ca-credential %s", t.CACredentialName)
	}
	if len(t.SubjectAltNames) > 0 {
		fmt.Fprintf(&b, " san %s", strings.Join(t.SubjectAltNames, ","))
	}
	if n := len(t.VerifyCertificateSpki) + len(t.VerifyCertificateHash); n > 0 {
		fmt.Fprintf(&b, " pins %d", n)
	}
	if t.MinVersion != 0 || t.MaxVersion != 0 {
		fmt.Fprintf(&b, " versions %#x-%#x", t.MinVersion, t.MaxVersion)
	}
	for _, c := range t.CipherSuites {
		fmt.Fprintf(&b, " cipher %#04x", c)
	}
	return b.String()
}

func dumpVHostTLS(vh VirtualHost) string {
	var b strings.Builder
	if vh.HTTPSRedirect {
		b.WriteString(" https-redirect")
	}
	if len(vh.TLSServers) > 0 {
		fmt.Fprintf(&b, " tls-servers %v", vh.TLSServers)
	}
	return b.String()
}

func dumpSNI(sni []string) string {
	if len(sni) == 0 {
		return ""
	}
	return " sni " + strings.Join(sni, ",")
}
