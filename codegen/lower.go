package codegen

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"time"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// RuntimeConfig lowers the whole IR to the runtime.Config the generated
// config.go holds, unprepared: listeners with their host routers, TLS
// servers and connection routes, virtual hosts with their routes and
// redirects to HTTPS, clusters with their policies and protocol, and the
// plugin chain (a *host.Chain, not started). The printer writes
// config.go from this very value, and `gwc explain`, `gwc routes` and the
// build-time route check run the runtime's own code over it, so what they
// reason about is what the binary holds.
func RuntimeConfig(cfg *ir.Config) (*runtime.Config, error) {
	rc, _, err := lower(cfg)
	return rc, err
}

// notes are what the generated source says about the lowered value beyond
// the value itself: where each listener, cluster and plugin came from. A
// route, TLS server and connection route carry their origin in their ID.
// Each note is a list of lines.
type notes struct {
	listeners [][]string // by listener index
	clusters  [][]string // by cluster index
	plugins   [][]string // by plugin index
}

// lower builds the runtime.Config of cfg and the notes the printer puts
// next to its parts.
func lower(cfg *ir.Config) (*runtime.Config, *notes, error) {
	out := &runtime.Config{Digest: cfg.Digest, Sources: cfg.Sources}
	n := &notes{}
	for _, l := range cfg.Listeners {
		rl, err := lowerListener(l)
		if err != nil {
			return nil, nil, err
		}
		out.Listeners = append(out.Listeners, rl)
		note := []string{fmt.Sprintf("port %d (%s)", l.Port, l.Protocol)}
		for _, s := range l.Servers {
			note = append(note, "from "+s.String())
		}
		n.listeners = append(n.listeners, note)
	}
	for i, c := range cfg.Clusters {
		rc, err := lowerCluster(c)
		if err != nil {
			return nil, nil, err
		}
		out.Clusters = append(out.Clusters, rc)
		note := []string{strconv.Itoa(i) + ": no ServiceEntry: the host is resolved by DNS"}
		if c.Origin != nil {
			note[0] = strconv.Itoa(i) + ": endpoints from ServiceEntry " + c.Origin.String()
		}
		if s := c.Service; s != nil {
			note[0] = strconv.Itoa(i) + ": endpoints from the EndpointSlices of Service " + s.Namespace + "/" + s.Name
		}
		if c.Policy != nil {
			note = append(note, "policy from DestinationRule "+c.Policy.Origin.String())
		}
		n.clusters = append(n.clusters, note)
	}
	out.Topology = runtime.Topology{
		NumTrustedProxies:        cfg.Topology.NumTrustedProxies,
		ForwardClientCertDetails: cfg.Topology.ForwardClientCertDetails,
		ProxyProtocol:            cfg.Topology.ProxyProtocol,
	}
	authz, err := lowerAuthz(cfg.Authz)
	if err != nil {
		return nil, nil, err
	}
	out.Authz = authz
	if e := runtimeExtAuthz(cfg); e != nil {
		out.ExtAuthz = e
	}
	if d := runtimeDiscovery(cfg); d != nil {
		out.Discovery = d
	}
	if c := runtimePlugins(cfg); c != nil {
		out.Plugins = c
		for _, p := range cfg.Plugins {
			n.plugins = append(n.plugins, []string{p.Origin.String()})
		}
	}
	if t := runtimeTracing(cfg); t != nil {
		out.Tracing = t
	}
	if a := runtimeAuthn(cfg); a != nil {
		out.Authn = a
	}
	return out, n, nil
}

func lowerListener(l ir.Listener) (runtime.Listener, error) {
	rl := runtime.Listener{Bind: l.Bind, Port: l.Port, Protocol: l.Protocol}
	router, err := hostRouter(l)
	if err != nil {
		return rl, err
	}
	rl.Hosts = router
	for _, vh := range l.VirtualHosts {
		rvh := runtime.VirtualHost{Domain: vh.Domain, RequireTLS: vh.HTTPSRedirect, TLSServers: vh.TLSServers}
		if lim := vh.RateLimit; lim != nil {
			rvh.RateLimit = &runtime.RateLimit{Requests: lim.Requests, Interval: lim.Interval, Burst: lim.Burst, ID: lim.Origin.String()}
			rl.RateLimited = true
		}
		for _, r := range vh.Routes {
			rvh.Routes = append(rvh.Routes, lowerRoute(r))
		}
		rl.VirtualHosts = append(rl.VirtualHosts, rvh)
	}
	for _, s := range l.TLS {
		rl.TLS = append(rl.TLS, lowerServerTLS(s))
	}
	for _, r := range l.L4 {
		rl.L4 = append(rl.L4, lowerL4(r))
	}
	return rl, nil
}

// hostRouter builds the listener's perfect-hash host router.
func hostRouter(l ir.Listener) (hosttable.Router, error) {
	domains := make([]string, len(l.VirtualHosts))
	for i, vh := range l.VirtualHosts {
		domains[i] = vh.Domain
	}
	r, err := mph.BuildRouter(domains)
	if err != nil {
		return r, fmt.Errorf("port %d: %w", l.Port, err)
	}
	return r, nil
}

var tlsModes = map[string]runtime.TLSMode{
	"SIMPLE":          runtime.TLSSimple,
	"MUTUAL":          runtime.TLSMutual,
	"OPTIONAL_MUTUAL": runtime.TLSOptionalMutual,
}

// lowerServerTLS lowers a terminating server; an unknown mode lowers to
// 0, which the runtime's Prepare rejects.
func lowerServerTLS(s ir.ServerTLS) runtime.ServerTLS {
	out := runtime.ServerTLS{
		ID: s.Origin.String(), SNI: s.SNI, Mode: tlsModes[s.Mode],
		CredentialName: s.CredentialName, ServerCertificate: s.ServerCertificate, PrivateKey: s.PrivateKey,
		CACertificates: s.CACertificates, CredentialNames: s.CredentialNames, CACredentialName: s.CACredentialName,
		CRL: s.CRL, InsecureSkipVerify: s.InsecureSkipVerify, SubjectAltNames: s.SubjectAltNames,
		VerifyCertificateSpki: s.VerifyCertificateSpki, VerifyCertificateHash: s.VerifyCertificateHash,
		MinVersion: s.MinVersion, MaxVersion: s.MaxVersion, CipherSuites: s.CipherSuites,
	}
	for _, c := range s.Certificates {
		out.Certificates = append(out.Certificates, runtime.CertificateFiles{Certificate: c.Certificate, Key: c.Key})
	}
	if s.TCP != nil {
		r := lowerL4(*s.TCP)
		out.TCP = &r
	}
	return out
}

func lowerL4(r ir.L4Route) runtime.L4Route {
	out := runtime.L4Route{ID: r.Origin.String(), SNI: r.SNI}
	for _, d := range r.Destinations {
		out.Clusters = append(out.Clusters, runtime.WeightedCluster{Cluster: d.Cluster, Weight: uint32(d.Weight)})
	}
	return out
}

func lowerCluster(c ir.Cluster) (runtime.Cluster, error) {
	rc := runtime.Cluster{Name: c.Name, Resolve: c.Resolve, HTTP2: c.HTTP2}
	if s := c.Service; s != nil {
		rc.Service = &runtime.ServiceRef{Namespace: s.Namespace, Name: s.Name, Port: s.Port, Labels: s.Labels}
	}
	for _, e := range c.Endpoints {
		rc.Endpoints = append(rc.Endpoints, runtime.Endpoint{Address: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), Weight: uint32(e.Weight)})
	}
	if c.Policy != nil {
		p, err := lowerPolicy(c.Policy)
		if err != nil {
			return rc, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		rc.Policy = p
	}
	return rc, nil
}

var lbKinds = map[string]runtime.LBKind{
	"LEAST_REQUEST": runtime.LBLeastRequest,
	"ROUND_ROBIN":   runtime.LBRoundRobin,
	"RANDOM":        runtime.LBRandom,
	"RING_HASH":     runtime.LBRingHash,
	"MAGLEV":        runtime.LBMaglev,
}

func lowerPolicy(p *ir.Policy) (*runtime.ClusterPolicy, error) {
	lb, ok := lbKinds[p.LB]
	if !ok {
		return nil, fmt.Errorf("unknown load balancer %q", p.LB)
	}
	h := p.Hash
	out := &runtime.ClusterPolicy{
		LB: lb,
		Hash: runtime.HashPolicy{
			Header: h.Header, Cookie: h.Cookie, CookiePath: h.CookiePath, CookieTTL: h.CookieTTL, CookieGenerate: h.CookieGenerate,
			CookieAttributes: h.CookieAttributes, SourceIP: h.SourceIP, QueryParam: h.QueryParam,
		},
		TableSize: p.TableSize,
	}
	c := p.Pool
	out.Pool = runtime.ConnectionPool{
		MaxConnections: c.MaxConnections, MaxPendingRequests: c.MaxPendingRequests, MaxRequests: c.MaxRequests,
		MaxRetries: c.MaxRetries, MaxRequestsPerConnection: c.MaxRequestsPerConnection,
		ConnectTimeout: c.ConnectTimeout, MaxConnectionDuration: c.MaxConnectionDuration, IdleTimeout: c.IdleTimeout,
	}
	if k := c.KeepAlive; k != nil {
		out.Pool.KeepAlive = &runtime.TCPKeepAlive{Probes: k.Probes, Time: k.Time, Interval: k.Interval}
	}
	if o := p.Outlier; o != nil {
		out.Outlier = &runtime.OutlierDetection{
			Consecutive5xx: o.Consecutive5xx, ConsecutiveGateway: o.ConsecutiveGateway,
			SplitLocalOrigin: o.SplitLocalOrigin, ConsecutiveLocalOrigin: o.ConsecutiveLocalOrigin,
			Interval: o.Interval, BaseEjectionTime: o.BaseEjectionTime,
			MaxEjectionPercent: o.MaxEjectionPercent, MinHealthPercent: o.MinHealthPercent,
		}
	}
	if t := p.TLS; t != nil {
		out.TLS = &runtime.UpstreamTLS{
			CACertificates: t.CACertificates, ClientCertificate: t.ClientCertificate, PrivateKey: t.PrivateKey,
			SNI: t.SNI, SubjectAltNames: t.SubjectAltNames, InsecureSkipVerify: t.InsecureSkipVerify,
			CredentialName: t.CredentialName, Mutual: t.Mutual,
		}
	}
	return out, nil
}

var runtimeKinds = map[string]runtime.MatchKind{
	"":        runtime.MatchAny,
	"exact":   runtime.MatchExact,
	"prefix":  runtime.MatchPrefix,
	"regex":   runtime.MatchRegex,
	"present": runtime.MatchAny, // in a HeaderMatch: the header is present
}

func lowerString(m ir.StringMatch) runtime.StringMatch {
	return runtime.StringMatch{Kind: runtimeKinds[m.Kind], Value: m.Value}
}

func lowerHeaders(hs []ir.HeaderMatch) []runtime.HeaderMatch {
	var out []runtime.HeaderMatch
	for _, h := range hs {
		out = append(out, runtime.HeaderMatch{Name: h.Name, Match: lowerString(h.Match)})
	}
	return out
}

func lowerMatch(m ir.Match) runtime.Match {
	out := runtime.Match{
		Path: lowerString(m.URI), Method: lowerString(m.Method), Headers: lowerHeaders(m.Headers),
		Name: m.Name, IgnoreCase: m.IgnoreURICase, WithoutHeaders: lowerHeaders(m.WithoutHeaders),
	}
	for _, q := range m.Query {
		out.Query = append(out.Query, runtime.QueryMatch{Name: q.Name, Match: lowerString(q.Match)})
	}
	return out
}

func lowerOps(o ir.HeaderOps) runtime.HeaderOps {
	var out runtime.HeaderOps
	for _, h := range o.Set {
		out.Set = append(out.Set, runtime.HeaderValue{Name: h.Name, Value: h.Value})
	}
	for _, h := range o.Add {
		out.Add = append(out.Add, runtime.HeaderValue{Name: h.Name, Value: h.Value})
	}
	out.Remove = append(out.Remove, o.Remove...)
	return out
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func lowerRoute(r ir.Route) runtime.Route {
	out := runtime.Route{
		ID:                     r.Origin.String(),
		RequestHeaders:         lowerOps(r.RequestHeaders),
		ResponseHeaders:        lowerOps(r.ResponseHeaders),
		DestinationHeadersLast: r.DestinationHeadersLast,
		Timeout:                ms(r.TimeoutMS),
		Compression:            r.Compression,
		MaxRequestBytes:        r.MaxRequestBytes,
	}
	for _, m := range r.Matches {
		out.Matches = append(out.Matches, lowerMatch(m))
	}
	for _, d := range r.Destinations {
		out.Clusters = append(out.Clusters, runtime.WeightedCluster{
			Cluster: d.Cluster, Weight: uint32(d.Weight),
			RequestHeaders: lowerOps(d.RequestHeaders), ResponseHeaders: lowerOps(d.ResponseHeaders),
			Authority: d.Authority,
		})
	}
	if d := r.Redirect; d != nil {
		out.Redirect = &runtime.Redirect{
			Scheme: d.Scheme, Authority: d.Authority, Port: d.Port, Path: d.Path,
			RewritePrefix: d.RewritePrefix, PrefixRewrite: d.PrefixRewrite, MatchedPrefix: d.MatchedPrefix,
			IgnoreCase: d.IgnoreCase, Code: d.Code,
		}
	}
	if d := r.DirectResponse; d != nil {
		out.DirectResponse = &runtime.DirectResponse{Status: d.Status, Body: string(d.Body)}
	}
	if w := r.Rewrite; w != nil {
		out.Rewrite = &runtime.Rewrite{
			URI: w.URI, MatchedPrefix: w.MatchedPrefix, WholePath: w.WholePath, IgnoreCase: w.IgnoreCase,
			RegexMatch: w.RegexMatch, RegexSubst: w.RegexSubst, Authority: w.Authority,
		}
	}
	if f := r.Fault; f != nil {
		out.Fault = &runtime.Fault{
			Delay: ms(f.DelayMS), DelayPercent: f.DelayPercent,
			AbortStatus: f.AbortStatus, AbortGRPC: f.AbortGRPC, AbortPercent: f.AbortPercent,
		}
	}
	for _, m := range r.Mirrors {
		out.Mirrors = append(out.Mirrors, runtime.Mirror{Cluster: m.Cluster, Percent: m.Percent})
	}
	if c := r.CORS; c != nil {
		out.CORS = &runtime.CORS{
			AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders, ExposeHeaders: c.ExposeHeaders,
			MaxAge: c.MaxAge, AllowCredentials: c.AllowCredentials, ForwardUnmatchedPreflights: c.ForwardUnmatchedPreflights,
		}
		for _, o := range c.AllowOrigins {
			out.CORS.AllowOrigins = append(out.CORS.AllowOrigins, lowerString(o))
		}
	}
	if !reflect.DeepEqual(r.Retry, ir.DefaultRetry) {
		p := r.Retry
		out.Retry = &runtime.RetryPolicy{
			Attempts: p.Attempts, PerTryTimeout: ms(p.PerTryTimeoutMS),
			On: p.On, StatusCodes: p.StatusCodes, Backoff: ms(p.BackoffMS),
			AllowPreviousHosts: p.AllowPreviousHosts,
		}
	}
	return out
}
