package codegen

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// RuntimeConfig builds in memory the runtime.Config that the generated
// source holds as a literal, unprepared. `gwc explain` and `gwc routes`
// run the runtime's own matchers over it. The route actions of the
// literal are printed from the same values (routeFields, destFields,
// matchMoreFields), so the two cannot drift apart. Its Plugins is the
// *host.Chain of the plugins, not started (pluginSpec feeds the literal
// too).
func RuntimeConfig(cfg *ir.Config) (*runtime.Config, error) {
	out := &runtime.Config{Digest: cfg.Digest, Sources: cfg.Sources}
	for _, l := range cfg.Listeners {
		rl := runtime.Listener{Bind: l.Bind, Port: l.Port, Protocol: l.Protocol}
		router, err := hostRouter(l)
		if err != nil {
			return nil, err
		}
		rl.Hosts = router
		for _, vh := range l.VirtualHosts {
			rvh := runtime.VirtualHost{Domain: vh.Domain, RequireTLS: vh.HTTPSRedirect, TLSServers: vh.TLSServers}
			for _, r := range vh.Routes {
				rvh.Routes = append(rvh.Routes, runtimeRoute(r))
			}
			rl.VirtualHosts = append(rl.VirtualHosts, rvh)
		}
		for _, r := range l.L4 {
			rl.L4 = append(rl.L4, runtimeL4(r))
		}
		for _, t := range l.TLS {
			rl.TLS = append(rl.TLS, runtimeTLS(t))
		}
		out.Listeners = append(out.Listeners, rl)
	}
	for _, c := range cfg.Clusters {
		rc := runtime.Cluster{Name: c.Name, Resolve: c.Resolve}
		for _, e := range c.Endpoints {
			rc.Endpoints = append(rc.Endpoints, runtime.Endpoint{Address: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)), Weight: uint32(e.Weight)})
		}
		out.Clusters = append(out.Clusters, rc)
	}
	if c := runtimePlugins(cfg); c != nil {
		out.Plugins = c
	}
	return out, nil
}

// runtimeL4 is a connection route as the literal's L4 and TCP hold it.
func runtimeL4(r ir.L4Route) runtime.L4Route {
	out := runtime.L4Route{ID: r.Origin.String(), SNI: r.SNI}
	for _, d := range r.Destinations {
		out.Clusters = append(out.Clusters, runtime.WeightedCluster{Cluster: d.Cluster, Weight: uint32(d.Weight)})
	}
	return out
}

var runtimeTLSModes = map[string]runtime.TLSMode{
	"SIMPLE":          runtime.TLSSimple,
	"MUTUAL":          runtime.TLSMutual,
	"OPTIONAL_MUTUAL": runtime.TLSOptionalMutual,
}

// runtimeTLS is a server's TLS termination as the literal's TLS holds it
// (tlsModes names the same modes for the literal). Prepare checks it, so
// an HTTPS listener without it could not be explained.
func runtimeTLS(t ir.ServerTLS) runtime.ServerTLS {
	out := runtime.ServerTLS{
		ID: t.Origin.String(), SNI: t.SNI, Mode: runtimeTLSModes[t.Mode],
		CredentialName: t.CredentialName, ServerCertificate: t.ServerCertificate, PrivateKey: t.PrivateKey,
		CACertificates: t.CACertificates, CredentialNames: t.CredentialNames, CACredentialName: t.CACredentialName,
		CRL: t.CRL, InsecureSkipVerify: t.InsecureSkipVerify, SubjectAltNames: t.SubjectAltNames,
		VerifyCertificateSpki: t.VerifyCertificateSpki, VerifyCertificateHash: t.VerifyCertificateHash,
		MinVersion: t.MinVersion, MaxVersion: t.MaxVersion, CipherSuites: t.CipherSuites,
	}
	for _, c := range t.Certificates {
		out.Certificates = append(out.Certificates, runtime.CertificateFiles{Certificate: c.Certificate, Key: c.Key})
	}
	if t.TCP != nil {
		tcp := runtimeL4(*t.TCP)
		out.TCP = &tcp
	}
	return out
}

// hostRouter builds the listener's host router, as the generated source
// holds it.
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

var runtimeKinds = map[string]runtime.MatchKind{
	"":        runtime.MatchAny,
	"exact":   runtime.MatchExact,
	"prefix":  runtime.MatchPrefix,
	"regex":   runtime.MatchRegex,
	"present": runtime.MatchAny,
}

func runtimeString(m ir.StringMatch) runtime.StringMatch {
	return runtime.StringMatch{Kind: runtimeKinds[m.Kind], Value: m.Value}
}

func runtimeHeaders(hs []ir.HeaderMatch) []runtime.HeaderMatch {
	var out []runtime.HeaderMatch
	for _, h := range hs {
		out = append(out, runtime.HeaderMatch{Name: h.Name, Match: runtimeString(h.Match)})
	}
	return out
}

func runtimeMatch(m ir.Match) runtime.Match {
	out := runtime.Match{
		Path: runtimeString(m.URI), Method: runtimeString(m.Method), Headers: runtimeHeaders(m.Headers),
		Name: m.Name, IgnoreCase: m.IgnoreURICase, WithoutHeaders: runtimeHeaders(m.WithoutHeaders),
	}
	for _, q := range m.Query {
		out.Query = append(out.Query, runtime.QueryMatch{Name: q.Name, Match: runtimeString(q.Match)})
	}
	return out
}

func runtimeOps(o ir.HeaderOps) runtime.HeaderOps {
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

func runtimeRoute(r ir.Route) runtime.Route {
	out := runtime.Route{
		ID:              r.Origin.String(),
		RequestHeaders:  runtimeOps(r.RequestHeaders),
		ResponseHeaders: runtimeOps(r.ResponseHeaders),
		Timeout:         time.Duration(r.TimeoutMS) * time.Millisecond,
		Compression:     r.Compression,
		MaxRequestBytes: r.MaxRequestBytes,
	}
	for _, m := range r.Matches {
		out.Matches = append(out.Matches, runtimeMatch(m))
	}
	out.Clusters = []runtime.WeightedCluster{} // as the template writes it
	for _, d := range r.Destinations {
		out.Clusters = append(out.Clusters, runtime.WeightedCluster{
			Cluster: d.Cluster, Weight: uint32(d.Weight),
			RequestHeaders: runtimeOps(d.RequestHeaders), ResponseHeaders: runtimeOps(d.ResponseHeaders),
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
			Delay: time.Duration(f.DelayMS) * time.Millisecond, DelayPercent: f.DelayPercent,
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
			out.CORS.AllowOrigins = append(out.CORS.AllowOrigins, runtimeString(o))
		}
	}
	if !reflect.DeepEqual(r.Retry, ir.DefaultRetry) {
		p := r.Retry
		out.Retry = &runtime.RetryPolicy{
			Attempts: p.Attempts, PerTryTimeout: time.Duration(p.PerTryTimeoutMS) * time.Millisecond,
			On: p.On, StatusCodes: p.StatusCodes, Backoff: time.Duration(p.BackoffMS) * time.Millisecond,
			AllowPreviousHosts: p.AllowPreviousHosts,
		}
	}
	return out
}

// routeFields returns the action fields of a route's literal, "Name: value"
// each, leaving out zero values.
func routeFields(r ir.Route) []string {
	rr := runtimeRoute(r)
	return fieldsOf(reflect.ValueOf(rr), "Redirect", "DirectResponse", "Rewrite", "RequestHeaders", "ResponseHeaders", "Timeout", "Retry", "Fault", "Mirrors", "CORS")
}

// destFields returns ", Name: value" for the header fields of a
// destination, or "".
func destFields(d ir.Destination) string {
	wc := runtime.WeightedCluster{RequestHeaders: runtimeOps(d.RequestHeaders), ResponseHeaders: runtimeOps(d.ResponseHeaders), Authority: d.Authority}
	var b strings.Builder
	for _, f := range fieldsOf(reflect.ValueOf(wc), "RequestHeaders", "ResponseHeaders", "Authority") {
		b.WriteString(", " + f)
	}
	return b.String()
}

// matchMoreFields returns the fields of a match literal beyond path,
// method and headers.
func matchMoreFields(m ir.Match) []string {
	return fieldsOf(reflect.ValueOf(runtimeMatch(m)), "Name", "IgnoreCase", "WithoutHeaders", "Query")
}

func fieldsOf(v reflect.Value, names ...string) []string {
	var out []string
	for _, n := range names {
		f := v.FieldByName(n)
		if f.IsZero() {
			continue
		}
		out = append(out, n+": "+literal(f))
	}
	return out
}

// literal writes v as Go source naming runtime types "gwcrt.T"; zero
// fields and unexported fields are left out.
func literal(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		return "&" + literal(v.Elem())
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || v.Field(i).IsZero() {
				continue
			}
			parts = append(parts, f.Name+": "+literal(v.Field(i)))
		}
		return typeName(t) + "{" + strings.Join(parts, ", ") + "}"
	case reflect.Slice:
		var parts []string
		for i := range v.Len() {
			e := literal(v.Index(i))
			if v.Type().Elem().Kind() == reflect.Struct {
				e = strings.TrimPrefix(e, typeName(v.Type().Elem()))
			}
			parts = append(parts, e)
		}
		return "[]" + typeName(v.Type().Elem()) + "{" + strings.Join(parts, ", ") + "}"
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			return strconv.FormatInt(v.Int(), 10) // an untyped constant: nanoseconds
		}
		if v.Type().PkgPath() != "" {
			return typeName(v.Type()) + "(" + strconv.FormatInt(v.Int(), 10) + ")"
		}
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Type().PkgPath() != "" {
			return typeName(v.Type()) + "(" + strconv.FormatUint(v.Uint(), 10) + ")"
		}
		return strconv.FormatUint(v.Uint(), 10)
	}
	panic(fmt.Sprintf("codegen: no literal for %s", v.Type()))
}

func typeName(t reflect.Type) string {
	if t.PkgPath() == reflect.TypeFor[runtime.Config]().PkgPath() {
		return "gwcrt." + t.Name()
	}
	return t.String()
}
