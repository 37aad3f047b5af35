package runtime

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RouteDescription says in words what a route matches and what it does,
// every field of both. It is the one description of a route: `gwc
// routes` prints it, `gwc explain` ends with it, and the admin
// /config_dump and /routes serve it, so the three cannot disagree.
type RouteDescription struct {
	// ID is the route's origin, as Route.ID.
	ID string `json:"id"`
	// Matches are the route's matches, one line each, OR'ed; "any" when
	// the route has none.
	Matches []string `json:"matches"`
	// Action lists what the route does, in the order the gateway does it:
	// CORS and faults first, then the answer (redirect, direct response)
	// or the forwarding (rewrite, destinations, headers, mirrors, timeout,
	// retries), then compression and the body limit.
	Action []string `json:"action"`
}

// DescribeRoute describes r, a route of cfg (which names its clusters).
func (cfg *Config) DescribeRoute(r *Route) RouteDescription {
	d := RouteDescription{ID: r.ID, Matches: []string{}, Action: []string{}}
	for i := range r.Matches {
		d.Matches = append(d.Matches, r.Matches[i].Describe())
	}
	if len(d.Matches) == 0 {
		d.Matches = append(d.Matches, "any")
	}
	add := func(format string, args ...any) { d.Action = append(d.Action, fmt.Sprintf(format, args...)) }
	if c := r.CORS; c != nil {
		add("%s", describeCORS(c))
	}
	if f := r.Fault; f != nil {
		if f.Delay > 0 {
			add("delay %s at %v%%", f.Delay, f.DelayPercent)
		}
		if f.AbortStatus > 0 {
			add("abort %d at %v%%", f.AbortStatus, f.AbortPercent)
		} else if f.AbortGRPC >= 0 {
			add("abort grpc-status %d at %v%%", f.AbortGRPC, f.AbortPercent)
		}
	}
	switch {
	case r.Redirect != nil:
		add("%s", describeRedirect(r.Redirect))
	case r.DirectResponse != nil:
		add("direct response %d (%d bytes)%s", r.DirectResponse.Status, len(r.DirectResponse.Body), describeBody(r.DirectResponse.Body))
	default:
		if rw := r.Rewrite; rw != nil {
			switch {
			case rw.URI != "" && rw.WholePath:
				add("rewrite path to %s", rw.URI)
			case rw.URI != "":
				add("rewrite prefix %s to %s%s", rw.MatchedPrefix, rw.URI, ignoringCase(rw.IgnoreCase))
			case rw.RegexMatch != "":
				add("rewrite %q to %q", rw.RegexMatch, rw.RegexSubst)
			}
			if rw.Authority != "" {
				add("authority %s", rw.Authority)
			}
		}
		var dests []string
		for _, wc := range r.Clusters {
			dests = append(dests, cfg.describeDestination(wc))
		}
		add("-> %s", strings.Join(dests, ", "))
		if wc := r.Clusters[0]; r.DestinationHeadersLast && describeOps("", wc.RequestHeaders)+describeOps("", wc.ResponseHeaders) != "" {
			add("destination header operations after the route's")
		}
	}
	// Header operations apply to local answers too (redirects, direct
	// responses), so they are described whatever the route does.
	if s := describeOps("request", r.RequestHeaders); s != "" {
		add("%s", s)
	}
	if s := describeOps("response", r.ResponseHeaders); s != "" {
		add("%s", s)
	}
	for _, m := range r.Mirrors {
		add("mirror %s at %v%%", cfg.clusterName(m.Cluster), m.Percent)
	}
	if r.Timeout > 0 {
		add("timeout %s", r.Timeout)
	}
	if p := r.Retry; p != nil {
		d.Action = append(d.Action, describeRetry(p)...)
	}
	if len(r.Compression) > 0 {
		add("compress %s", strings.Join(r.Compression, ", "))
	}
	if r.MaxRequestBytes > 0 {
		add("max request body %d bytes", r.MaxRequestBytes)
	}
	return d
}

// String is the description on one line: matches, then the action.
func (d RouteDescription) String() string {
	return strings.Join(d.Matches, " | ") + "  " + strings.Join(d.Action, "; ")
}

func (cfg *Config) clusterName(i int) string {
	if i >= 0 && i < len(cfg.Clusters) {
		return cfg.Clusters[i].Name
	}
	return "cluster " + strconv.Itoa(i) + " (out of range)"
}

func (cfg *Config) describeDestination(wc WeightedCluster) string {
	parts := []string{strconv.FormatUint(uint64(wc.Weight), 10)}
	if s := describeOps("request", wc.RequestHeaders); s != "" {
		parts = append(parts, s)
	}
	if s := describeOps("response", wc.ResponseHeaders); s != "" {
		parts = append(parts, s)
	}
	if wc.Authority != "" {
		parts = append(parts, "authority "+wc.Authority)
	}
	return cfg.clusterName(wc.Cluster) + " (" + strings.Join(parts, ", ") + ")"
}

// describeOps says what header operations do: "request headers set a: 1,
// add b: 2, remove c".
func describeOps(dir string, o HeaderOps) string {
	var parts []string
	for _, h := range o.Set {
		parts = append(parts, "set "+h.Name+": "+h.Value)
	}
	for _, h := range o.Add {
		parts = append(parts, "add "+h.Name+": "+h.Value)
	}
	for _, n := range o.Remove {
		parts = append(parts, "remove "+n)
	}
	if len(parts) == 0 {
		return ""
	}
	return dir + " headers " + strings.Join(parts, ", ")
}

func describeRedirect(rd *Redirect) string {
	target := rd.Path
	if rd.RewritePrefix {
		target = rd.MatchedPrefix + "* -> " + rd.PrefixRewrite + "*"
	}
	port := "(kept)"
	if rd.Port != 0 {
		port = strconv.Itoa(rd.Port)
	}
	return fmt.Sprintf("redirect %d scheme=%s authority=%s port=%s path=%s%s", rd.Code, orKeep(rd.Scheme), orKeep(rd.Authority), port, orKeep(target), ignoringCase(rd.IgnoreCase))
}

// bodyShown bounds the part of a direct response's body a description
// quotes.
const bodyShown = 64

func describeBody(body string) string {
	if body == "" {
		return ""
	}
	if len(body) > bodyShown {
		return " " + strconv.Quote(body[:bodyShown]) + "..."
	}
	return " " + strconv.Quote(body)
}

func describeCORS(c *CORS) string {
	s := "cors"
	var origins []string
	for _, o := range c.AllowOrigins {
		origins = append(origins, describeCondition(o, false))
	}
	if len(origins) > 0 {
		s += " origins " + strings.Join(origins, ", ")
	}
	for _, f := range [][2]string{{"methods", c.AllowMethods}, {"headers", c.AllowHeaders}, {"expose", c.ExposeHeaders}, {"max-age", c.MaxAge}} {
		if f[1] != "" {
			s += " " + f[0] + " " + f[1]
		}
	}
	if c.AllowCredentials {
		s += " credentials"
	}
	if c.ForwardUnmatchedPreflights {
		s += " forward-unmatched-preflights"
	}
	return s
}

func describeRetry(p *RetryPolicy) []string {
	if p.Attempts == 0 {
		return []string{"no retries"}
	}
	codes := ""
	if len(p.StatusCodes) > 0 {
		var s []string
		for _, c := range p.StatusCodes {
			s = append(s, strconv.Itoa(c))
		}
		codes = " (" + strings.Join(s, ",") + ")"
	}
	out := []string{fmt.Sprintf("retries %d on %s%s", p.Attempts, strings.Join(p.On, ","), codes)}
	if p.PerTryTimeout > 0 {
		out = append(out, "per try "+p.PerTryTimeout.Round(time.Millisecond).String())
	}
	if p.Backoff > 0 {
		out = append(out, "backoff "+p.Backoff.String())
	}
	if p.AllowPreviousHosts {
		out = append(out, "retries may reuse hosts")
	}
	return out
}

func ignoringCase(b bool) string {
	if b {
		return " ignoring case"
	}
	return ""
}

func orKeep(s string) string {
	if s == "" {
		return "(kept)"
	}
	return s
}

// describe says what a cluster's traffic policy sets, a line a part; nil
// for Istio's defaults. Credentials are named, never read.
func (p *ClusterPolicy) describe() []string {
	if p == nil {
		return nil
	}
	lb := "lb " + p.LB.String()
	h := p.Hash
	switch {
	case h.Header != "":
		lb += " header " + h.Header
	case h.Cookie != "":
		lb += fmt.Sprintf(" cookie %s path %q", h.Cookie, h.CookiePath)
		if h.CookieGenerate {
			lb += fmt.Sprintf(" ttl %s", h.CookieTTL)
		}
		if len(h.CookieAttributes) > 0 {
			lb += " attributes " + strings.Join(h.CookieAttributes, "; ")
		}
	case h.SourceIP:
		lb += " source-ip"
	case h.QueryParam != "":
		lb += " query " + h.QueryParam
	}
	if p.TableSize > 0 {
		lb += " table " + strconv.FormatUint(p.TableSize, 10)
	}
	out := []string{lb}
	var parts []string
	num := func(name string, n uint32) {
		if n > 0 {
			parts = append(parts, name+" "+strconv.FormatUint(uint64(n), 10))
		}
	}
	dur := func(name string, d time.Duration) {
		switch {
		case d < 0:
			parts = append(parts, name+" off")
		case d > 0:
			parts = append(parts, name+" "+d.String())
		}
	}
	c := p.Pool
	num("maxConnections", c.MaxConnections)
	num("maxPendingRequests", c.MaxPendingRequests)
	num("maxRequests", c.MaxRequests)
	num("maxRetries", c.MaxRetries)
	num("maxRequestsPerConnection", c.MaxRequestsPerConnection)
	dur("connectTimeout", c.ConnectTimeout)
	dur("maxConnectionDuration", c.MaxConnectionDuration)
	dur("idleTimeout", c.IdleTimeout)
	if k := c.KeepAlive; k != nil {
		parts = append(parts, fmt.Sprintf("keepalive probes %d time %s interval %s", k.Probes, k.Time, k.Interval))
	}
	if len(parts) > 0 {
		out = append(out, "pool "+strings.Join(parts, " "))
	}
	if o := p.Outlier; o != nil {
		parts = nil
		num("consecutive5xx", o.Consecutive5xx)
		num("consecutiveGateway", o.ConsecutiveGateway)
		if o.SplitLocalOrigin {
			parts = append(parts, "splitLocalOrigin")
		}
		num("consecutiveLocalOrigin", o.ConsecutiveLocalOrigin)
		dur("interval", o.Interval)
		dur("baseEjectionTime", o.BaseEjectionTime)
		num("maxEjectionPercent", o.MaxEjectionPercent)
		num("minHealthPercent", o.MinHealthPercent)
		out = append(out, "outlier "+strings.Join(parts, " "))
	}
	if t := p.TLS; t != nil {
		s := "tls"
		if t.Mutual {
			s += " mutual"
		}
		for _, f := range [][2]string{{"credential", t.CredentialName}, {"ca", t.CACertificates}, {"cert", t.ClientCertificate}, {"key", t.PrivateKey}, {"sni", t.SNI}} {
			if f[1] != "" {
				s += " " + f[0] + " " + f[1]
			}
		}
		if len(t.SubjectAltNames) > 0 {
			s += " san " + strings.Join(t.SubjectAltNames, ",")
		}
		if t.InsecureSkipVerify {
			s += " insecure-skip-verify"
		}
		out = append(out, s)
	}
	return out
}
