package compiler

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
	"github.com/gwc-dev/gwc/compiler/names"
)

// The DestinationRule model: the parts of the spec gwc applies. Fields it
// does not are rejected by unsupportedDR below.

type destinationRuleSpec struct {
	Host          string         `json:"host"`
	TrafficPolicy *trafficPolicy `json:"trafficPolicy"`
	Subsets       []subset       `json:"subsets"`
	ExportTo      []string       `json:"exportTo"`
}

type subset struct {
	Name          string            `json:"name"`
	Labels        map[string]string `json:"labels"`
	TrafficPolicy *trafficPolicy    `json:"trafficPolicy"`
}

type trafficPolicy struct {
	LoadBalancer      *loadBalancer       `json:"loadBalancer"`
	ConnectionPool    *connectionPool     `json:"connectionPool"`
	OutlierDetection  *outlierDetection   `json:"outlierDetection"`
	TLS               *clientTLS          `json:"tls"`
	PortLevelSettings []portTrafficPolicy `json:"portLevelSettings"`
}

type portTrafficPolicy struct {
	Port *struct {
		Number int `json:"number"`
	} `json:"port"`
	LoadBalancer     *loadBalancer     `json:"loadBalancer"`
	ConnectionPool   *connectionPool   `json:"connectionPool"`
	OutlierDetection *outlierDetection `json:"outlierDetection"`
	TLS              *clientTLS        `json:"tls"`
}

type loadBalancer struct {
	Simple         string          `json:"simple"`
	ConsistentHash *consistentHash `json:"consistentHash"`
}

type consistentHash struct {
	HTTPHeaderName *string `json:"httpHeaderName"`
	HTTPCookie     *struct {
		Name       string `json:"name"`
		Path       string `json:"path"`
		TTL        string `json:"ttl"`
		Attributes []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"attributes"`
	} `json:"httpCookie"`
	UseSourceIP            *bool   `json:"useSourceIp"`
	HTTPQueryParameterName *string `json:"httpQueryParameterName"`
	RingHash               *struct {
		MinimumRingSize *uint64 `json:"minimumRingSize"`
	} `json:"ringHash"`
	Maglev *struct {
		TableSize *uint64 `json:"tableSize"`
	} `json:"maglev"`
	MinimumRingSize *uint64 `json:"minimumRingSize"`
}

type connectionPool struct {
	TCP *struct {
		MaxConnections        *int64  `json:"maxConnections"`
		ConnectTimeout        *string `json:"connectTimeout"`
		MaxConnectionDuration *string `json:"maxConnectionDuration"`
		TCPKeepalive          *struct {
			Probes   *int64  `json:"probes"`
			Time     *string `json:"time"`
			Interval *string `json:"interval"`
		} `json:"tcpKeepalive"`
	} `json:"tcp"`
	HTTP *struct {
		HTTP1MaxPendingRequests  *int64  `json:"http1MaxPendingRequests"`
		HTTP2MaxRequests         *int64  `json:"http2MaxRequests"`
		MaxRequestsPerConnection *int64  `json:"maxRequestsPerConnection"`
		MaxRetries               *int64  `json:"maxRetries"`
		IdleTimeout              *string `json:"idleTimeout"`
		H2UpgradePolicy          string  `json:"h2UpgradePolicy"`
	} `json:"http"`
}

type outlierDetection struct {
	Consecutive5xxErrors           *int64  `json:"consecutive5xxErrors"`
	ConsecutiveGatewayErrors       *int64  `json:"consecutiveGatewayErrors"`
	SplitExternalLocalOriginErrors bool    `json:"splitExternalLocalOriginErrors"`
	ConsecutiveLocalOriginFailures *int64  `json:"consecutiveLocalOriginFailures"`
	Interval                       *string `json:"interval"`
	BaseEjectionTime               *string `json:"baseEjectionTime"`
	MaxEjectionPercent             *int64  `json:"maxEjectionPercent"`
	MinHealthPercent               *int64  `json:"minHealthPercent"`
}

type clientTLS struct {
	Mode               string   `json:"mode"`
	ClientCertificate  string   `json:"clientCertificate"`
	PrivateKey         string   `json:"privateKey"`
	CACertificates     string   `json:"caCertificates"`
	SubjectAltNames    []string `json:"subjectAltNames"`
	SNI                string   `json:"sni"`
	InsecureSkipVerify bool     `json:"insecureSkipVerify"`
	CredentialName     string   `json:"credentialName"`
}

type destinationRule struct {
	*load.Resource
	Spec destinationRuleSpec
	// host is Spec.Host as an FQDN in the rule's namespace.
	host string
	// used is set when a route sends traffic to the host.
	used bool
}

// Fields of a traffic policy that gwc does not apply, under every place a
// traffic policy appears.
var unsupportedPolicy = map[string]verdict{
	"tunnel":                                          {diag.Error, "tunnel applies to TCP and TLS routes, which gwc does not serve", "remove it"},
	"proxyProtocol":                                   {diag.Error, "proxyProtocol to upstreams is not supported yet", later},
	"retryBudget":                                     {diag.Error, "retryBudget is not supported yet", later + "; connectionPool.http.maxRetries bounds retries"},
	"loadBalancer.localityLbSetting":                  {diag.Error, "locality load balancing is not supported yet", later},
	"loadBalancer.zoneAwareLbSetting":                 {diag.Error, "zone-aware load balancing is not supported yet", later},
	"loadBalancer.warmupDurationSecs":                 {diag.Error, "slow start (warmup) is not supported yet", later},
	"loadBalancer.warmup":                             {diag.Error, "slow start (warmup) is not supported yet", later},
	"connectionPool.tcp.idleTimeout":                  {diag.Error, "tcp.idleTimeout applies to TCP proxying, which gwc does not do", "use connectionPool.http.idleTimeout"},
	"connectionPool.http.useClientProtocol":           {diag.Error, "useClientProtocol is not supported: gwc speaks HTTP/1.1 to upstreams", "remove it"},
	"connectionPool.http.maxConcurrentStreams":        {diag.Error, "maxConcurrentStreams is not supported: gwc speaks HTTP/1.1 to upstreams", "remove it"},
	"connectionPool.http.http2KeepAlive":              {diag.Error, "http2KeepAlive is not supported: gwc speaks HTTP/1.1 to upstreams", "remove it"},
	"outlierDetection.consecutiveErrors":              {diag.Error, "consecutiveErrors is deprecated and not supported", "use consecutive5xxErrors"},
	"outlierDetection.outlierDetectionHttpErrorCodes": {diag.Error, "outlierDetectionHttpErrorCodes is not supported yet", later},
	"tls.caCrl":                                       {diag.Error, "caCrl is not supported yet", later},
}

func init() {
	rules := map[string]verdict{
		"spec.workloadSelector": {diag.Error, "workloadSelector selects sidecars; a DestinationRule applies at the gateway only without it", "remove it"},
	}
	for _, base := range []string{"spec.trafficPolicy", "spec.subsets[].trafficPolicy"} {
		for _, prefix := range []string{base + ".", base + ".portLevelSettings[]."} {
			for field, v := range unsupportedPolicy {
				if strings.HasPrefix(prefix, base+".portLevelSettings") && (field == "tunnel" || field == "proxyProtocol" || field == "retryBudget") {
					continue
				}
				rules[prefix+field] = v
			}
		}
	}
	unsupported["DestinationRule"] = rules
}

// collectDestinationRules groups the rules by FQDN host and checks each
// once. Istio merges rules for one host: subsets are concatenated (the
// first of a name wins) and the first rule's traffic policy applies.
func (c *compilation) collectDestinationRules() {
	for _, dr := range c.drs {
		dr.host = names.FQDN(dr.Spec.Host, dr.Namespace)
		c.checkDestinationRule(dr)
	}
}

// destinationRulesFor returns the rules for host in precedence order: the
// exact host first, then the most specific wildcard; rules of one host in
// namespace/name order.
func (c *compilation) destinationRulesFor(host string) []*destinationRule {
	var exact, wild []*destinationRule
	bestLen := -1
	for _, dr := range c.drs {
		switch {
		case dr.host == host:
			exact = append(exact, dr)
		case names.Covers(dr.host, host) && len(dr.host) > bestLen:
			wild, bestLen = []*destinationRule{dr}, len(dr.host)
		case names.Covers(dr.host, host) && len(dr.host) == bestLen:
			wild = append(wild, dr)
		}
	}
	if exact != nil {
		return exact
	}
	return wild
}

// findSubset returns the first subset of a name among the rules.
func findSubset(drs []*destinationRule, name string) (*destinationRule, int) {
	for _, dr := range drs {
		for i, s := range dr.Spec.Subsets {
			if s.Name == name {
				return dr, i
			}
		}
	}
	return nil, -1
}

// topPolicy returns the traffic policy of the first rule that has one.
func topPolicy(drs []*destinationRule) (*destinationRule, *trafficPolicy) {
	for _, dr := range drs {
		if dr.Spec.TrafficPolicy != nil {
			return dr, dr.Spec.TrafficPolicy
		}
	}
	return nil, nil
}

// effectivePolicy merges as istiod's MergeTrafficPolicy: port-level
// settings replace the four fields as a whole (omitted ones take the
// defaults), a subset's fields replace the rule's one by one, then the
// subset's own port-level settings apply.
func effectivePolicy(top, sub *trafficPolicy, port int) *trafficPolicy {
	top = applyPort(top, port)
	if sub == nil {
		return top
	}
	m := &trafficPolicy{}
	if top != nil {
		*m = *top
	}
	if sub.LoadBalancer != nil {
		m.LoadBalancer = sub.LoadBalancer
	}
	if sub.ConnectionPool != nil {
		m.ConnectionPool = sub.ConnectionPool
	}
	if sub.OutlierDetection != nil {
		m.OutlierDetection = sub.OutlierDetection
	}
	if sub.TLS != nil {
		m.TLS = sub.TLS
	}
	m.PortLevelSettings = sub.PortLevelSettings
	return applyPort(m, port)
}

func applyPort(p *trafficPolicy, port int) *trafficPolicy {
	if p == nil {
		return nil
	}
	for _, pl := range p.PortLevelSettings {
		if pl.Port != nil && pl.Port.Number == port {
			return &trafficPolicy{LoadBalancer: pl.LoadBalancer, ConnectionPool: pl.ConnectionPool,
				OutlierDetection: pl.OutlierDetection, TLS: pl.TLS}
		}
	}
	return &trafficPolicy{LoadBalancer: p.LoadBalancer, ConnectionPool: p.ConnectionPool,
		OutlierDetection: p.OutlierDetection, TLS: p.TLS}
}

// checkDestinationRule reports every problem of one rule, whether or not a
// route uses the part that has it.
func (c *compilation) checkDestinationRule(dr *destinationRule) {
	seen := map[string]int{}
	for i, s := range dr.Spec.Subsets {
		path := fmt.Sprintf("spec.subsets[%d]", i)
		if j, dup := seen[s.Name]; dup {
			c.errorc(codeValidation, dr.Resource, path+".name", "give each subset its own name",
				"subset %q is defined twice (first at subsets[%d])", s.Name, j)
		}
		seen[s.Name] = i
		if !dnsLabel(s.Name) {
			c.errorc(codeValidation, dr.Resource, path+".name", "use letters, digits and '-'", "subset name %q is not a DNS-1123 label", s.Name)
		}
		c.checkPolicy(dr, path+".trafficPolicy", s.TrafficPolicy)
	}
	c.checkPolicy(dr, "spec.trafficPolicy", dr.Spec.TrafficPolicy)
}

func (c *compilation) checkPolicy(dr *destinationRule, path string, p *trafficPolicy) {
	if p == nil {
		return
	}
	if p.LoadBalancer == nil && p.ConnectionPool == nil && p.OutlierDetection == nil && p.TLS == nil && len(p.PortLevelSettings) == 0 {
		c.errorc(codeValidation, dr.Resource, path, "set loadBalancer, connectionPool, outlierDetection, tls or portLevelSettings, or remove it",
			"traffic policy must have at least one field")
		return
	}
	c.checkParts(dr, path, p.LoadBalancer, p.ConnectionPool, p.OutlierDetection, p.TLS)
	for i, pl := range p.PortLevelSettings {
		pp := fmt.Sprintf("%s.portLevelSettings[%d]", path, i)
		switch {
		case pl.Port == nil:
			c.errorc(codeValidation, dr.Resource, pp, "add port: {number: N} with the service port they are for",
				"portTrafficPolicy must have valid port")
		case pl.Port.Number < 1 || pl.Port.Number > 65535:
			// Istio accepts the number and matches it against no port
			// (networking/core's port-level merge compares numbers).
			c.warnc(codeIgnored, dr.Resource, pp+".port.number", "use the number of the service port they are for",
				"port-level settings for port %d apply to no port", pl.Port.Number)
		}
		if pl.LoadBalancer == nil && pl.ConnectionPool == nil && pl.OutlierDetection == nil && pl.TLS == nil {
			c.errorc(codeValidation, dr.Resource, pp, "set loadBalancer, connectionPool, outlierDetection or tls", "port-level settings must have at least one field besides the port")
		}
		c.checkParts(dr, pp, pl.LoadBalancer, pl.ConnectionPool, pl.OutlierDetection, pl.TLS)
	}
}

func (c *compilation) checkParts(dr *destinationRule, path string, lb *loadBalancer, cp *connectionPool, od *outlierDetection, tls *clientTLS) {
	c.toPolicy(dr, path, &trafficPolicy{LoadBalancer: lb, ConnectionPool: cp, OutlierDetection: od, TLS: tls}, true)
}

// toPolicy converts a merged policy to the IR, reporting problems at path
// when report is set (checkDestinationRule does; conversion for a cluster
// does not repeat them).
func (c *compilation) toPolicy(dr *destinationRule, path string, p *trafficPolicy, report bool) *ir.Policy {
	out := &ir.Policy{Origin: ir.Origin{Pos: dr.Pos, Resource: dr.Namespace + "/" + dr.Name}, LB: "LEAST_REQUEST"}
	bad := func(code, field, hint, format string, args ...any) {
		if report {
			c.errorc(code, dr.Resource, path+"."+field, hint, format, args...)
		}
	}
	warn := func(code, field, hint, format string, args ...any) {
		if report {
			c.warnc(code, dr.Resource, path+"."+field, hint, format, args...)
		}
	}
	dur := func(field string, s *string, zeroOK bool) time.Duration {
		if s == nil {
			return 0
		}
		d, err := time.ParseDuration(*s)
		switch {
		case err != nil:
			bad(codeValidation, field, "write a duration such as 250ms, 10s or 1h", "duration %q does not parse", *s)
		case d == 0 && zeroOK:
		case d < time.Millisecond:
			bad(codeValidation, field, "use at least 1ms", "duration %q is shorter than 1ms", *s)
		}
		return d
	}
	limit := func(field string, v *int64) uint32 {
		if v == nil {
			return 0
		}
		switch {
		case *v < 0:
			bad(codeValidation, field, "use a positive number, or remove the field for no limit", "%d is negative", *v)
			return 0
		case *v == 0:
			warn(codeValidationWarn, field, "remove the field, or give a positive limit", "0 means no limit (Istio's default)")
		case *v > 1<<32-1:
			bad(codeValidation, field, "use at most 4294967295", "%d is too large", *v)
			return 0
		}
		return uint32(*v)
	}
	if lb := p.LoadBalancer; lb != nil {
		c.lowerLB(out, lb, bad, warn, dur)
	}
	if cp := p.ConnectionPool; cp != nil {
		pool := &out.Pool
		if cp.TCP == nil && cp.HTTP == nil {
			bad(codeValidation, "connectionPool", "add tcp or http settings", "connectionPool must set tcp or http")
		}
		if t := cp.TCP; t != nil {
			pool.MaxConnections = limit("connectionPool.tcp.maxConnections", t.MaxConnections)
			pool.ConnectTimeout = dur("connectionPool.tcp.connectTimeout", t.ConnectTimeout, false)
			pool.MaxConnectionDuration = dur("connectionPool.tcp.maxConnectionDuration", t.MaxConnectionDuration, false)
			if ka := t.TCPKeepalive; ka != nil {
				k := &ir.TCPKeepAlive{Time: dur("connectionPool.tcp.tcpKeepalive.time", ka.Time, false),
					Interval: dur("connectionPool.tcp.tcpKeepalive.interval", ka.Interval, false)}
				if ka.Probes != nil {
					k.Probes = int(limit("connectionPool.tcp.tcpKeepalive.probes", ka.Probes))
				}
				pool.KeepAlive = k
			}
		}
		if h := cp.HTTP; h != nil {
			pool.MaxPendingRequests = limit("connectionPool.http.http1MaxPendingRequests", h.HTTP1MaxPendingRequests)
			pool.MaxRequests = limit("connectionPool.http.http2MaxRequests", h.HTTP2MaxRequests)
			pool.MaxRetries = limit("connectionPool.http.maxRetries", h.MaxRetries)
			if h.MaxRequestsPerConnection != nil && *h.MaxRequestsPerConnection == 0 {
				// 0 is documented as unlimited: no warning.
			} else {
				pool.MaxRequestsPerConnection = limit("connectionPool.http.maxRequestsPerConnection", h.MaxRequestsPerConnection)
			}
			// istiod's shouldH2Upgrade: UPGRADE makes the cluster speak
			// HTTP/2; DEFAULT and DO_NOT_UPGRADE leave the port's protocol
			// (gwc does not read the mesh-wide h2UpgradePolicy).
			out.H2Upgrade = h.H2UpgradePolicy == "UPGRADE"
			pool.IdleTimeout = dur("connectionPool.http.idleTimeout", h.IdleTimeout, true)
			if h.IdleTimeout != nil && pool.IdleTimeout == 0 {
				pool.IdleTimeout = -1 // 0s disables it
			}
		}
	}
	if od := p.OutlierDetection; od != nil {
		o := &ir.Outlier{Consecutive5xx: 5, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 10}
		if od.Consecutive5xxErrors != nil {
			o.Consecutive5xx = uint32(max(0, min(*od.Consecutive5xxErrors, 1<<32-1)))
		}
		if od.ConsecutiveGatewayErrors != nil {
			o.ConsecutiveGateway = uint32(max(0, min(*od.ConsecutiveGatewayErrors, 1<<32-1)))
		}
		if d := dur("outlierDetection.interval", od.Interval, false); d > 0 {
			o.Interval = d
		}
		if d := dur("outlierDetection.baseEjectionTime", od.BaseEjectionTime, false); d > 0 {
			o.BaseEjectionTime = d
		}
		if od.MaxEjectionPercent != nil {
			o.MaxEjectionPercent = uint32(*od.MaxEjectionPercent)
		}
		if od.MinHealthPercent != nil {
			o.MinHealthPercent = uint32(*od.MinHealthPercent)
		}
		if od.SplitExternalLocalOriginErrors {
			o.SplitLocalOrigin, o.ConsecutiveLocalOrigin = true, 5
			if od.ConsecutiveLocalOriginFailures != nil {
				o.ConsecutiveLocalOrigin = uint32(max(0, min(*od.ConsecutiveLocalOriginFailures, 1<<32-1)))
			}
		} else if od.ConsecutiveLocalOriginFailures != nil {
			bad(codeValidation, "outlierDetection.consecutiveLocalOriginFailures", "set splitExternalLocalOriginErrors: true, or remove it",
				"consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors")
		}
		if o.Consecutive5xx == 0 && o.ConsecutiveGateway == 0 && o.ConsecutiveLocalOrigin == 0 {
			warn(codeValidationWarn, "outlierDetection", "set consecutive5xxErrors or consecutiveGatewayErrors", "outlier detection ejects nothing: both thresholds are 0")
			o = nil
		}
		out.Outlier = o
	}
	if t := p.TLS; t != nil {
		switch strings.ToUpper(t.Mode) {
		case "", "DISABLE":
		case "SIMPLE", "MUTUAL":
			mutual := strings.EqualFold(t.Mode, "MUTUAL")
			named := t.CredentialName != ""
			if named && (t.ClientCertificate != "" || t.PrivateKey != "" || t.CACertificates != "") {
				bad(codeValidation, "tls.credentialName", "put the certificates in the credential (NAME/tls.crt, NAME/tls.key, NAME/ca.crt), or drop credentialName",
					"credentialName cannot be combined with clientCertificate, privateKey or caCertificates")
			}
			if named && t.InsecureSkipVerify {
				bad(codeValidation, "tls.insecureSkipVerify", "remove insecureSkipVerify: the credential's CA verifies the upstream",
					"insecureSkipVerify cannot be combined with credentialName")
			}
			if mutual && !named && (t.ClientCertificate == "" || t.PrivateKey == "") {
				bad(codeValidation, "tls", "give clientCertificate and privateKey, or credentialName", "mode MUTUAL needs a client certificate and its private key")
			}
			if !mutual && (t.ClientCertificate != "" || t.PrivateKey != "") {
				bad(codeValidation, "tls.mode", "use mode: MUTUAL to send a client certificate", "clientCertificate and privateKey need mode MUTUAL")
			}
			if t.InsecureSkipVerify && (t.CACertificates != "" || len(t.SubjectAltNames) > 0) {
				bad(codeValidation, "tls.insecureSkipVerify", "remove insecureSkipVerify, or the CA and SANs", "insecureSkipVerify cannot be combined with caCertificates or subjectAltNames")
			}
			secret := ""
			if named {
				secret, _ = credentialSecret(t.CredentialName, dr.Namespace, true, func(hint, format string, args ...any) {
					bad(codeCredentialForm, "tls.credentialName", hint, format, args...)
				})
			}
			out.TLS = &ir.UpstreamTLS{CACertificates: t.CACertificates, ClientCertificate: t.ClientCertificate,
				PrivateKey: t.PrivateKey, SNI: t.SNI, SubjectAltNames: t.SubjectAltNames, InsecureSkipVerify: t.InsecureSkipVerify,
				CredentialName: secret, Mutual: mutual}
		case "ISTIO_MUTUAL":
			bad(codeUnsupported, "tls.mode", "use SIMPLE or MUTUAL with your own certificates", "ISTIO_MUTUAL needs a mesh identity, which a standalone gateway does not have")
		}
	}
	return out
}

func (c *compilation) lowerLB(out *ir.Policy, lb *loadBalancer, bad, warn func(code, field, hint, format string, args ...any),
	dur func(string, *string, bool) time.Duration) {
	switch strings.ToUpper(lb.Simple) {
	case "", "UNSPECIFIED", "LEAST_REQUEST":
	case "LEAST_CONN":
		warn(codeValidationWarn, "loadBalancer.simple", "write LEAST_REQUEST", "LEAST_CONN is deprecated; it means LEAST_REQUEST")
	case "ROUND_ROBIN", "RANDOM":
		out.LB = strings.ToUpper(lb.Simple)
	case "PASSTHROUGH":
		bad(codeUnsupported, "loadBalancer.simple", "use ROUND_ROBIN, LEAST_REQUEST or RANDOM",
			"PASSTHROUGH forwards to the original destination address, which an ingress does not have")
	}
	ch := lb.ConsistentHash
	if ch == nil {
		return
	}
	out.LB = "RING_HASH"
	h := &out.Hash
	switch {
	case ch.HTTPHeaderName != nil:
		h.Header = strings.ToLower(*ch.HTTPHeaderName)
		if h.Header == "" {
			bad(codeUnsupported, "loadBalancer.consistentHash.httpHeaderName", "name a header", "an empty header name to hash")
		}
	case ch.HTTPCookie != nil:
		h.Cookie, h.CookiePath = ch.HTTPCookie.Name, ch.HTTPCookie.Path
		if h.Cookie == "" {
			bad(codeValidation, "loadBalancer.consistentHash.httpCookie", "name the cookie", "name required for HttpCookie")
		}
		for i, a := range ch.HTTPCookie.Attributes {
			if a.Name == "" || strings.ContainsAny(a.Name+a.Value, ";\r\n") {
				bad(codeValidation, fmt.Sprintf("loadBalancer.consistentHash.httpCookie.attributes[%d]", i), "use a plain attribute such as SameSite=Strict",
					"cookie attribute %q=%q cannot be written in a Set-Cookie header", a.Name, a.Value)
				continue
			}
			attr := a.Name
			if a.Value != "" {
				attr += "=" + a.Value
			}
			h.CookieAttributes = append(h.CookieAttributes, attr)
		}
		if ttl := ch.HTTPCookie.TTL; ttl != "" {
			// Istio checks no range here and Envoy keeps the whole
			// seconds (Max-Age), so any duration that parses will do.
			d, err := time.ParseDuration(ttl)
			if err != nil {
				bad(codeValidation, "loadBalancer.consistentHash.httpCookie.ttl", "write a duration such as 1h", "duration %q does not parse", ttl)
			}
			h.CookieTTL, h.CookieGenerate = d, true
		}
	case ch.UseSourceIP != nil && *ch.UseSourceIP:
		h.SourceIP = true
	case ch.HTTPQueryParameterName != nil && *ch.HTTPQueryParameterName != "":
		h.QueryParam = *ch.HTTPQueryParameterName
	default:
		bad(codeUnsupported, "loadBalancer.consistentHash", "set httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName",
			"consistentHash has no hash key")
	}
	switch {
	case ch.Maglev != nil:
		out.LB = "MAGLEV"
		if ch.Maglev.TableSize != nil {
			n := *ch.Maglev.TableSize
			if n >= 5000011 || !big.NewInt(int64(min(n, 1<<62))).ProbablyPrime(20) {
				bad(codeValidation, "loadBalancer.consistentHash.maglev.tableSize", "use a prime below 5000011, such as 65537",
					"maglev table size %d is not a prime below 5000011", n)
			} else {
				out.TableSize = n
			}
		}
	case ch.RingHash != nil && ch.RingHash.MinimumRingSize != nil:
		out.TableSize = *ch.RingHash.MinimumRingSize
	case ch.MinimumRingSize != nil:
		warn(codeValidationWarn, "loadBalancer.consistentHash.minimumRingSize", "write ringHash: {minimumRingSize: N}", "minimumRingSize is deprecated")
		out.TableSize = *ch.MinimumRingSize
	}
	if out.TableSize > 1<<23 {
		bad(codeUnsupported, "loadBalancer.consistentHash", "use at most 8388608", "ring size %d is larger than Envoy's maximum", out.TableSize)
		out.TableSize = 0
	}
}

// dnsLabel reports whether s is a DNS-1123 label as Istio's
// labels.IsDNS1123Label has it: upper case letters are allowed.
func dnsLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// warnUnusedDestinationRules reports rules whose host no route sends
// traffic to (istioctl's IST0174 is about hosts with no service).
func (c *compilation) warnUnusedDestinationRules() {
	for _, dr := range c.drs {
		if !dr.used {
			c.warnc(codeUnusedDR, dr.Resource, "spec.host", "check the host, or route to it from a VirtualService",
				"no route sends traffic to host %s: this DestinationRule has no effect", dr.host)
		}
	}
}

// warnMergedDestinationRules reports several rules for one host: Istio
// merges their subsets and applies only the first traffic policy.
func (c *compilation) warnMergedDestinationRules() {
	first := map[string]*destinationRule{}
	firstPolicy := map[string]*destinationRule{}
	for _, dr := range c.drs {
		f, dup := first[dr.host]
		if !dup {
			first[dr.host] = dr
		} else {
			c.warnc(codeMergedDR, dr.Resource, "spec.host", "keep one DestinationRule per host",
				"DestinationRule %s/%s is also for host %s: the subsets are merged", f.Namespace, f.Name, dr.host)
			for i, s := range dr.Spec.Subsets {
				if odr, k := findSubset([]*destinationRule{f}, s.Name); k >= 0 && odr != dr {
					c.warnc(codeMergedDR, dr.Resource, fmt.Sprintf("spec.subsets[%d].name", i), "rename the subset, or remove one of them",
						"subset %q is ignored: DestinationRule %s/%s for the same host defines it first", s.Name, f.Namespace, f.Name)
				}
			}
		}
		if dr.Spec.TrafficPolicy == nil {
			continue
		}
		if p, dup := firstPolicy[dr.host]; dup {
			c.warnc(codeMergedDR, dr.Resource, "spec.trafficPolicy", "merge the traffic policies into "+p.Namespace+"/"+p.Name,
				"this traffic policy is ignored: DestinationRule %s/%s for the same host has one and comes first", p.Namespace, p.Name)
		} else {
			firstPolicy[dr.host] = dr
		}
	}
}
