package codegen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/ir"
)

var lbKinds = map[string]string{
	"LEAST_REQUEST": "gwcrt.LBLeastRequest",
	"ROUND_ROBIN":   "gwcrt.LBRoundRobin",
	"RANDOM":        "gwcrt.LBRandom",
	"RING_HASH":     "gwcrt.LBRingHash",
	"MAGLEV":        "gwcrt.LBMaglev",
}

// policyLiteral writes a cluster's traffic policy as a *gwcrt.ClusterPolicy
// literal; fields at their zero value are left out, durations are written
// in nanoseconds with the readable value in a comment.
func policyLiteral(p *ir.Policy) (string, error) {
	lb, ok := lbKinds[p.LB]
	if !ok {
		return "", fmt.Errorf("unknown load balancer %q", p.LB)
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	dur := func(name string, d time.Duration) {
		switch {
		case d < 0:
			line("%s: %d, // off", name, int64(d))
		case d > 0:
			line("%s: %d, // %s", name, int64(d), d)
		}
	}
	num := func(name string, n uint64) {
		if n != 0 {
			line("%s: %d,", name, n)
		}
	}
	str := func(name, s string) {
		if s != "" {
			line("%s: %s,", name, strconv.Quote(s))
		}
	}
	line("&gwcrt.ClusterPolicy{ // from DestinationRule %s", comment(p.Origin.String()))
	line("LB: %s,", lb)
	if h := p.Hash; h.Header != "" || h.Cookie != "" || h.SourceIP || h.QueryParam != "" {
		line("Hash: gwcrt.HashPolicy{")
		str("Header", h.Header)
		str("Cookie", h.Cookie)
		str("CookiePath", h.CookiePath)
		dur("CookieTTL", h.CookieTTL)
		if len(h.CookieAttributes) > 0 {
			line("CookieAttributes: %s,", stringSlice(h.CookieAttributes))
		}
		if h.SourceIP {
			line("SourceIP: true,")
		}
		str("QueryParam", h.QueryParam)
		line("},")
	}
	num("TableSize", p.TableSize)
	if c := p.Pool; c != (ir.ConnectionPool{}) {
		line("Pool: gwcrt.ConnectionPool{")
		num("MaxConnections", uint64(c.MaxConnections))
		num("MaxPendingRequests", uint64(c.MaxPendingRequests))
		num("MaxRequests", uint64(c.MaxRequests))
		num("MaxRetries", uint64(c.MaxRetries))
		num("MaxRequestsPerConnection", uint64(c.MaxRequestsPerConnection))
		dur("ConnectTimeout", c.ConnectTimeout)
		dur("MaxConnectionDuration", c.MaxConnectionDuration)
		dur("IdleTimeout", c.IdleTimeout)
		if k := c.KeepAlive; k != nil {
			line("KeepAlive: &gwcrt.TCPKeepAlive{")
			num("Probes", uint64(k.Probes))
			dur("Time", k.Time)
			dur("Interval", k.Interval)
			line("},")
		}
		line("},")
	}
	if o := p.Outlier; o != nil {
		line("Outlier: &gwcrt.OutlierDetection{")
		num("Consecutive5xx", uint64(o.Consecutive5xx))
		num("ConsecutiveGateway", uint64(o.ConsecutiveGateway))
		if o.SplitLocalOrigin {
			line("SplitLocalOrigin: true,")
		}
		num("ConsecutiveLocalOrigin", uint64(o.ConsecutiveLocalOrigin))
		dur("Interval", o.Interval)
		dur("BaseEjectionTime", o.BaseEjectionTime)
		num("MaxEjectionPercent", uint64(o.MaxEjectionPercent))
		num("MinHealthPercent", uint64(o.MinHealthPercent))
		line("},")
	}
	if t := p.TLS; t != nil {
		line("TLS: &gwcrt.UpstreamTLS{")
		str("CACertificates", t.CACertificates)
		str("ClientCertificate", t.ClientCertificate)
		str("PrivateKey", t.PrivateKey)
		str("SNI", t.SNI)
		if len(t.SubjectAltNames) > 0 {
			line("SubjectAltNames: %s,", stringSlice(t.SubjectAltNames))
		}
		if t.InsecureSkipVerify {
			line("InsecureSkipVerify: true,")
		}
		str("CredentialName", t.CredentialName)
		if t.Mutual {
			line("Mutual: true,")
		}
		line("},")
	}
	b.WriteString("}")
	return b.String(), nil
}

func stringSlice(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
