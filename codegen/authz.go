package codegen

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"

	// The generated ingress imports the external authorizer only when a
	// CUSTOM policy exists; importing it here makes gwc depend on it, so
	// installing gwc puts Envoy's protos in the module cache.
	"github.com/gwc-dev/gwc/runtime/extauthz"
)

// authzAttrs maps the IR's attribute names onto the runtime's.
var authzAttrs = map[string]runtime.AuthzAttr{
	"source.ip":              runtime.AttrSourceIP,
	"remote.ip":              runtime.AttrRemoteIP,
	"source.principal":       runtime.AttrSourcePrincipal,
	"source.namespace":       runtime.AttrSourceNamespace,
	"request.auth.principal": runtime.AttrRequestPrincipal,
	"request.auth.audiences": runtime.AttrRequestAudiences,
	"request.auth.presenter": runtime.AttrRequestPresenter,
	"request.auth.claims":    runtime.AttrRequestClaim,
	"request.headers":        runtime.AttrRequestHeader,
	"hosts":                  runtime.AttrHost,
	"methods":                runtime.AttrMethod,
	"paths":                  runtime.AttrPath,
	"destination.port":       runtime.AttrPort,
	"connection.sni":         runtime.AttrSNI,
}

var authzKinds = map[string]runtime.AuthzMatchKind{
	"exact":   runtime.AuthzExact,
	"prefix":  runtime.AuthzPrefix,
	"suffix":  runtime.AuthzSuffix,
	"present": runtime.AuthzPresent,
	"regex":   runtime.AuthzRegex,
}

// lowerAuthz builds the runtime's rule lists from the policies: one list
// per action, each sorted by rule name, the order of Envoy's policy map.
// nil when there are no policies.
func lowerAuthz(policies []ir.AuthzPolicy) (*runtime.Authz, error) {
	if len(policies) == 0 {
		return nil, nil
	}
	a := &runtime.Authz{}
	for _, p := range policies {
		var list *[]runtime.AuthzRule
		switch p.Action {
		case "ALLOW":
			list = &a.Allow
			a.AllowPolicies = true
		case "DENY":
			list = &a.Deny
		case "AUDIT":
			list = &a.Audit
		case "CUSTOM":
			list = &a.Custom
		default:
			return nil, fmt.Errorf("authorization policy %s: action %q has no runtime form", p.Origin, p.Action)
		}
		for _, r := range p.Rules {
			rr := runtime.AuthzRule{Name: r.Name, ID: r.Origin.String()}
			var err error
			if rr.From, err = lowerClauses(r.From); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Origin, err)
			}
			if rr.To, err = lowerClauses(r.To); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Origin, err)
			}
			if rr.When, err = lowerConditions(r.When); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Origin, err)
			}
			*list = append(*list, rr)
		}
	}
	for _, l := range [][]runtime.AuthzRule{a.Custom, a.Deny, a.Audit, a.Allow} {
		slices.SortStableFunc(l, func(x, y runtime.AuthzRule) int { return cmp.Compare(x.Name, y.Name) })
	}
	return a, nil
}

func lowerClauses(cs []ir.AuthzClause) ([]runtime.AuthzClause, error) {
	var out []runtime.AuthzClause
	for _, c := range cs {
		conds, err := lowerConditions(c.Conditions)
		if err != nil {
			return nil, err
		}
		out = append(out, runtime.AuthzClause{Conditions: conds})
	}
	return out, nil
}

func lowerConditions(cs []ir.AuthzCondition) ([]runtime.AuthzCondition, error) {
	var out []runtime.AuthzCondition
	for _, c := range cs {
		attr, ok := authzAttrs[c.Attribute]
		if !ok {
			return nil, fmt.Errorf("attribute %q has no runtime form", c.Attribute)
		}
		rc := runtime.AuthzCondition{Attr: attr, Key: c.Key}
		if attr == runtime.AttrRequestHeader && len(c.Key) == 1 && c.Key[0] != "" && c.Key[0][0] != ':' {
			// net/http's key, so a request never canonicalises it.
			rc.Key = []string{http.CanonicalHeaderKey(c.Key[0])}
		}
		var err error
		if rc.Values, err = lowerAuthzValues(c.Values); err != nil {
			return nil, err
		}
		if rc.NotValues, err = lowerAuthzValues(c.NotValues); err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

func lowerAuthzValues(vs []ir.AuthzValue) ([]runtime.AuthzValue, error) {
	var out []runtime.AuthzValue
	for _, v := range vs {
		rv, err := lowerAuthzValue(v)
		if err != nil {
			return nil, err
		}
		out = append(out, rv)
	}
	return out, nil
}

func lowerAuthzValue(v ir.AuthzValue) (runtime.AuthzValue, error) {
	switch v.Kind {
	case "cidr":
		p, err := netip.ParsePrefix(v.Value)
		if err != nil {
			return runtime.AuthzValue{}, fmt.Errorf("value %q: %w", v.Text, err)
		}
		return runtime.AuthzValue{IP: p.Addr().AsSlice(), Bits: p.Bits()}, nil
	case "port":
		return runtime.AuthzValue{Port: v.Port}, nil
	}
	k, ok := authzKinds[v.Kind]
	if !ok {
		return runtime.AuthzValue{}, fmt.Errorf("value %q: kind %q has no runtime form", v.Text, v.Kind)
	}
	rv := runtime.AuthzValue{Match: runtime.AuthzMatch{Kind: k, Value: v.Value}}
	if v.Sub != nil {
		sub, err := lowerAuthzValue(*v.Sub)
		if err != nil {
			return runtime.AuthzValue{}, err
		}
		rv.Sub = &sub.Match
	}
	return rv, nil
}

// authzNetwork names the network of an IP value for the generated
// source's comment; "" for other values.
func authzNetwork(v runtime.AuthzValue) string {
	a, ok := netip.AddrFromSlice(v.IP)
	if !ok {
		return ""
	}
	return netip.PrefixFrom(a, v.Bits).String()
}

// runtimeExtAuthz returns the external authorizer of the CUSTOM
// policies, not dialled; nil without one. The compiler checked that they
// name one provider.
func runtimeExtAuthz(cfg *ir.Config) *extauthz.Client {
	for _, p := range cfg.Authz {
		e := p.Provider
		if e == nil {
			continue
		}
		s := extauthz.Spec{Provider: e.Provider, GRPC: e.GRPC, Endpoint: net.JoinHostPort(e.Service, strconv.Itoa(e.Port)),
			Timeout: e.Timeout, FailOpen: e.FailOpen, StatusOnError: e.StatusOnError, PathPrefix: e.PathPrefix,
			IncludeRequestHeaders: e.IncludeRequestHeaders, HeadersToUpstreamOnAllow: e.HeadersToUpstreamOnAllow,
			HeadersToDownstreamOnAllow: e.HeadersToDownstreamOnAllow, HeadersToDownstreamOnDeny: e.HeadersToDownstreamOnDeny}
		for _, h := range e.AdditionalHeaders {
			s.AdditionalHeaders = append(s.AdditionalHeaders, extauthz.Header{Name: h.Key, Value: h.Value})
		}
		return extauthz.New(s)
	}
	return nil
}
