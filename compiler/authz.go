package compiler

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// AuthorizationPolicy (security.istio.io v1 and v1beta1) at the gateway:
// its semantics are Istio's (https://istio.io/latest/docs/reference/config/security/authorization-policy/)
// as istiod translates them into Envoy's RBAC filter
// (istio/istio pilot/pkg/security/authz/model). The binary is the one
// workload, so selector and targetRef(s) are read as Gateway.selector is:
// every policy of the input applies to the gateway.

type authorizationPolicy struct {
	*load.Resource
	Spec authzSpec
}

type authzSpec struct {
	Action   string       `json:"action"`
	Rules    *[]authzRule `json:"rules"`
	Provider *struct {
		Name string `json:"name"`
	} `json:"provider"`
}

type authzRule struct {
	From []struct {
		Source *authzSource `json:"source"`
	} `json:"from"`
	To []struct {
		Operation *authzOperation `json:"operation"`
	} `json:"to"`
	When []authzWhen `json:"when"`
}

type authzSource struct {
	Principals           []string `json:"principals"`
	NotPrincipals        []string `json:"notPrincipals"`
	RequestPrincipals    []string `json:"requestPrincipals"`
	NotRequestPrincipals []string `json:"notRequestPrincipals"`
	Namespaces           []string `json:"namespaces"`
	NotNamespaces        []string `json:"notNamespaces"`
	IPBlocks             []string `json:"ipBlocks"`
	NotIPBlocks          []string `json:"notIpBlocks"`
	RemoteIPBlocks       []string `json:"remoteIpBlocks"`
	NotRemoteIPBlocks    []string `json:"notRemoteIpBlocks"`
	ServiceAccounts      []string `json:"serviceAccounts"`
	NotServiceAccounts   []string `json:"notServiceAccounts"`
	TrustDomains         []string `json:"trustDomains"`
	NotTrustDomains      []string `json:"notTrustDomains"`
}

type authzOperation struct {
	Hosts      []string `json:"hosts"`
	NotHosts   []string `json:"notHosts"`
	Ports      []string `json:"ports"`
	NotPorts   []string `json:"notPorts"`
	Methods    []string `json:"methods"`
	NotMethods []string `json:"notMethods"`
	Paths      []string `json:"paths"`
	NotPaths   []string `json:"notPaths"`
}

type authzWhen struct {
	Key       string   `json:"key"`
	Values    []string `json:"values"`
	NotValues []string `json:"notValues"`
}

func init() {
	notEnforced := func(what, hint string) verdict {
		return verdict{diag.Error, what + " is not enforced by gwc: a gateway built without it would not apply it", hint}
	}
	sa := notEnforced("serviceAccounts", "match the client certificate's SPIFFE identity with principals (cluster.local/ns/NS/sa/NAME)")
	td := notEnforced("trustDomains", "match the client certificate's SPIFFE identity with principals (TRUST_DOMAIN/ns/NS/sa/NAME)")
	unsupported["AuthorizationPolicy"] = map[string]verdict{
		"spec.rules[].from[].source.serviceAccounts":    sa,
		"spec.rules[].from[].source.notServiceAccounts": sa,
		"spec.rules[].from[].source.trustDomains":       td,
		"spec.rules[].from[].source.notTrustDomains":    td,
	}
}

// lowerAuthz checks the AuthorizationPolicies and lowers them, sorted by
// namespace and name, after the listeners (a principal needs a server
// that asks for client certificates).
func (c *compilation) lowerAuthz(cfg *ir.Config) []ir.AuthzPolicy {
	var out []ir.AuthzPolicy
	for _, ap := range c.authzPolicies {
		if p, ok := c.authzPolicy(ap, cfg); ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b ir.AuthzPolicy) int { return cmp.Compare(a.Origin.Resource, b.Origin.Resource) })
	// Istio allows one external authorizer per workload.
	var first *ir.AuthzPolicy
	for i := range out {
		p := &out[i]
		if p.Provider == nil {
			continue
		}
		if first == nil {
			first = p
			continue
		}
		if p.Provider.Provider != first.Provider.Provider {
			for _, ap := range c.authzPolicies {
				if ap.Namespace+"/"+ap.Name == p.Origin.Resource {
					c.errorc(codeValidation, ap.Resource, "spec.provider.name", "name one provider in every CUSTOM policy of the gateway",
						"CUSTOM policies name two providers, %q and %q (%s): Istio allows one external authorizer per workload",
						first.Provider.Provider, p.Provider.Provider, first.Origin.Resource)
				}
			}
		}
	}
	return out
}

// authzCheck collects the findings of one policy.
type authzCheck struct {
	c   *compilation
	r   *load.Resource
	cfg *ir.Config
	ok  bool
}

func (k *authzCheck) errorf(code, path, hint, format string, args ...any) {
	k.c.errorc(code, k.r, path, hint, format, args...)
	k.ok = false
}

func (c *compilation) authzPolicy(ap *authorizationPolicy, cfg *ir.Config) (ir.AuthzPolicy, bool) {
	r, s := ap.Resource, &ap.Spec
	k := &authzCheck{c: c, r: r, cfg: cfg, ok: true}
	action := cmp.Or(s.Action, "ALLOW")
	p := ir.AuthzPolicy{
		Origin: ir.Origin{Pos: r.Pos, Resource: r.Namespace + "/" + r.Name},
		Action: action,
		Name:   "ns[" + r.Namespace + "]-policy[" + r.Name + "]",
	}
	switch {
	case action == "CUSTOM":
		p.Provider = c.extAuthzProvider(k, s)
	case s.Provider != nil:
		// Istio's webhook: provider is only for CUSTOM.
		k.errorf(codeValidation, "spec.provider", "remove provider, or set action: CUSTOM",
			"provider must only be set with action CUSTOM")
	}
	if s.Rules == nil || len(*s.Rules) == 0 {
		// No rules: an ALLOW policy allows nothing; an AUDIT policy
		// matches nothing; Istio's webhook refuses DENY and CUSTOM ones
		// (pkg/config/validation ValidateAuthorizationPolicy).
		if action == "DENY" || action == "CUSTOM" {
			k.errorf(codeValidation, "spec", "add an empty rule, rules: [{}], to apply it to every request",
				"%s action without rules is meaningless as it will never be triggered", action)
		}
		return p, k.ok
	}
	if action == "CUSTOM" {
		k.customRules(*s.Rules)
	}
	for i, rule := range *s.Rules {
		p.Rules = append(p.Rules, k.rule(p.Name, i, rule))
	}
	return p, k.ok
}

func (k *authzCheck) rule(policy string, i int, rule authzRule) ir.AuthzRule {
	at := fmt.Sprintf("spec.rules[%d]", i)
	out := ir.AuthzRule{
		Origin: ir.Origin{Pos: k.r.PosOf(at), Resource: k.r.Namespace + "/" + k.r.Name, Field: fmt.Sprintf("rules[%d]", i)},
		Name:   policy + "-rule[" + strconv.Itoa(i) + "]",
	}
	// The ports the rule is limited to: a principal needs client
	// certificates only on the listeners the rule can apply to.
	var ports []int
	limited := len(rule.To) > 0
	for j, to := range rule.To {
		path := fmt.Sprintf("%s.to[%d]", at, j)
		if to.Operation == nil || !hasOperation(to.Operation) {
			k.errorf(codeValidation, path, "give the operation at least one field (hosts, ports, methods, paths or their not forms), or remove the entry",
				"to.operation must not be empty")
			continue
		}
		o := to.Operation
		if len(o.Ports) == 0 {
			limited = false
		}
		for _, s := range o.Ports {
			if n, err := strconv.Atoi(s); err == nil {
				ports = append(ports, n)
			}
		}
		path += ".operation"
		var cl ir.AuthzClause
		cl.Conditions = k.appendCondition(cl.Conditions, path, "hosts", "notHosts", "hosts", nil, o.Hosts, o.NotHosts)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "ports", "notPorts", "destination.port", nil, o.Ports, o.NotPorts)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "methods", "notMethods", "methods", nil, o.Methods, o.NotMethods)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "paths", "notPaths", "paths", nil, o.Paths, o.NotPaths)
		out.To = append(out.To, cl)
	}
	if !limited {
		ports = nil
	}
	for j, from := range rule.From {
		path := fmt.Sprintf("%s.from[%d]", at, j)
		if from.Source == nil || !hasSource(from.Source) {
			k.errorf(codeValidation, path, "give the source at least one field (ipBlocks, remoteIpBlocks, principals, requestPrincipals, namespaces or their not forms), or remove the entry",
				"from.source must not be empty")
			continue
		}
		s := from.Source
		path += ".source"
		var cl ir.AuthzClause
		cl.Conditions = k.appendCondition(cl.Conditions, path, "ipBlocks", "notIpBlocks", "source.ip", nil, s.IPBlocks, s.NotIPBlocks)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "remoteIpBlocks", "notRemoteIpBlocks", "remote.ip", nil, s.RemoteIPBlocks, s.NotRemoteIPBlocks)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "requestPrincipals", "notRequestPrincipals", "request.auth.principal", nil, s.RequestPrincipals, s.NotRequestPrincipals)
		n := len(cl.Conditions)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "principals", "notPrincipals", "source.principal", nil, s.Principals, s.NotPrincipals)
		cl.Conditions = k.appendCondition(cl.Conditions, path, "namespaces", "notNamespaces", "source.namespace", nil, s.Namespaces, s.NotNamespaces)
		if len(cl.Conditions) > n {
			field := "principals"
			if len(s.Principals)+len(s.NotPrincipals) == 0 {
				field = "namespaces"
			}
			k.needClientCerts(path+"."+field, field, ports)
		}
		out.From = append(out.From, cl)
	}
	for j, w := range rule.When {
		path := fmt.Sprintf("%s.when[%d]", at, j)
		attr, key, ok := k.whenKey(path, w.Key)
		if !ok {
			continue
		}
		if len(w.Values) == 0 && len(w.NotValues) == 0 {
			k.errorf(codeValidation, path, "list the values to match in values or notValues",
				"condition %q has neither values nor notValues", w.Key)
			continue
		}
		if attr == "source.principal" || attr == "source.namespace" {
			k.needClientCerts(path+".key", w.Key, ports)
		}
		out.When = k.appendCondition(out.When, path, "values", "notValues", attr, key, w.Values, w.NotValues)
	}
	return out
}

// customRules refuses what Istio's webhook refuses in a CUSTOM policy:
// peer identities and request.auth attributes, which the external
// authorizer runs before (pkg/config/validation ValidateAuthorizationPolicy).
func (k *authzCheck) customRules(rules []authzRule) {
	for i, rule := range rules {
		for j, from := range rule.From {
			s := from.Source
			if s == nil {
				continue
			}
			for _, f := range []struct {
				name string
				n    int
			}{
				{"namespaces", len(s.Namespaces)}, {"notNamespaces", len(s.NotNamespaces)},
				{"serviceAccounts", len(s.ServiceAccounts)}, {"notServiceAccounts", len(s.NotServiceAccounts)},
				{"trustDomains", len(s.TrustDomains)}, {"notTrustDomains", len(s.NotTrustDomains)},
				{"principals", len(s.Principals)}, {"notPrincipals", len(s.NotPrincipals)},
				{"requestPrincipals", len(s.RequestPrincipals)}, {"notRequestPrincipals", len(s.NotRequestPrincipals)},
			} {
				if f.n > 0 {
					k.errorf(codeValidation, fmt.Sprintf("spec.rules[%d].from[%d].source.%s", i, j, f.name),
						"match it in a DENY or ALLOW policy, which runs after the external authorizer",
						"from.source.%s is not supported with action CUSTOM", f.name)
				}
			}
		}
		for j, w := range rule.When {
			switch key := w.Key; {
			case key == "source.namespace", key == "source.serviceAccount", key == "source.trustDomain",
				key == "source.principal", strings.HasPrefix(key, "request.auth."):
				k.errorf(codeValidation, fmt.Sprintf("spec.rules[%d].when[%d].key", i, j),
					"match it in a DENY or ALLOW policy, which runs after the external authorizer",
					"condition %q is not supported with action CUSTOM", key)
			}
		}
	}
}

func hasOperation(o *authzOperation) bool {
	return len(o.Hosts)+len(o.NotHosts)+len(o.Ports)+len(o.NotPorts)+len(o.Methods)+len(o.NotMethods)+len(o.Paths)+len(o.NotPaths) > 0
}

func hasSource(s *authzSource) bool {
	return len(s.Principals)+len(s.NotPrincipals)+len(s.RequestPrincipals)+len(s.NotRequestPrincipals)+
		len(s.Namespaces)+len(s.NotNamespaces)+len(s.IPBlocks)+len(s.NotIPBlocks)+
		len(s.RemoteIPBlocks)+len(s.NotRemoteIPBlocks)+len(s.ServiceAccounts)+len(s.NotServiceAccounts)+
		len(s.TrustDomains)+len(s.NotTrustDomains) > 0
}

// whenKey reads a when condition's key: the attribute, and the bracketed
// claim path or header name. Istio's keys: https://istio.io/latest/docs/reference/config/security/conditions/
func (k *authzCheck) whenKey(path, key string) (attr string, sub []string, ok bool) {
	bracketed := func(prefix string) ([]string, bool) {
		rest := strings.TrimPrefix(key, prefix)
		var parts []string
		for rest != "" {
			if rest[0] != '[' {
				return nil, false
			}
			end := strings.IndexByte(rest, ']')
			if end <= 1 {
				return nil, false
			}
			parts = append(parts, rest[1:end])
			rest = rest[end+1:]
		}
		return parts, len(parts) > 0
	}
	switch {
	case key == "source.ip", key == "remote.ip", key == "source.principal", key == "source.namespace",
		key == "request.auth.principal", key == "request.auth.audiences", key == "request.auth.presenter",
		key == "destination.port", key == "connection.sni":
		return key, nil, true
	case strings.HasPrefix(key, "request.headers["):
		// istiod takes the name between the first '[' and the last ']'.
		name, ok := strings.CutSuffix(strings.TrimPrefix(key, "request.headers["), "]")
		if !ok || name == "" {
			k.errorf(codeValidation, path+".key", "write the header as request.headers[name]", "bad key %q: want request.headers[name]", key)
			return "", nil, false
		}
		return "request.headers", []string{strings.ToLower(name)}, true
	case strings.HasPrefix(key, "request.auth.claims["):
		parts, ok := bracketed("request.auth.claims")
		if !ok {
			k.errorf(codeValidation, path+".key", "write the claim as request.auth.claims[name], a nested one as request.auth.claims[outer][inner]",
				"bad key %q: want request.auth.claims[name]", key)
			return "", nil, false
		}
		return "request.auth.claims", parts, true
	case key == "destination.ip", key == "source.serviceAccount", key == "source.trustDomain", strings.HasPrefix(key, "experimental.envoy.filters."),
		strings.HasPrefix(key, "request.experimental.inline.headers["):
		k.errorf(diag.CodeNotEnforced, path+".key", "remove the condition, or keep the policy out of the gateway's input",
			"condition %q is not enforced by gwc: a gateway built without it would not apply it", key)
	case key == "destination.namespace", strings.HasPrefix(key, "destination.labels"), key == "destination.name", key == "destination.user":
		k.errorf(codeValidation, path+".key", "select the workload with the policy's namespace and selector instead",
			"attribute %q is not a condition of AuthorizationPolicy v1beta1 and later", key)
	default:
		k.errorf(codeValidation, path+".key", "use one of Istio's condition keys: source.ip, remote.ip, source.principal, source.namespace, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[...], request.headers[...], destination.port, connection.sni",
			"unknown condition key %q", key)
	}
	return "", nil, false
}

// needClientCerts reports a principal or namespace match on a gateway
// whose servers (on the rule's ports, when it names ports) do not all ask
// for client certificates: there is no peer identity to match, so an
// ALLOW rule would deny and a DENY rule would never deny.
func (k *authzCheck) needClientCerts(path, field string, ports []int) {
	for _, l := range k.cfg.Listeners {
		if len(ports) > 0 && !slices.Contains(ports, l.Port) || len(l.L4) > 0 && len(l.VirtualHosts) == 0 {
			continue
		}
		switch strings.ToUpper(l.Protocol) {
		case "TCP", "TLS":
			continue
		case "HTTPS":
			for i, t := range l.TLS {
				if t.Mode != "MUTUAL" && t.Mode != "OPTIONAL_MUTUAL" {
					k.errorf(codeUnsupported, path, "set tls.mode MUTUAL on the server, or limit the rule with to.operation.ports to ports of MUTUAL servers",
						"%s match the client certificate's SPIFFE identity, but server %s (port %d) does not ask for client certificates (tls.mode %s)",
						field, l.Servers[i], l.Port, t.Mode)
					return
				}
			}
		default:
			k.errorf(codeUnsupported, path, "serve the gateway over HTTPS with tls.mode MUTUAL, or limit the rule with to.operation.ports to such ports",
				"%s match the client certificate's SPIFFE identity, but port %d (%s) has no TLS, so no client certificate",
				field, l.Port, l.Protocol)
			return
		}
	}
}

// appendCondition validates one field and its not form and appends their
// condition; nothing when both are empty.
func (k *authzCheck) appendCondition(cs []ir.AuthzCondition, path, field, notField, attr string, key []string, values, notValues []string) []ir.AuthzCondition {
	if len(values) == 0 && len(notValues) == 0 {
		return cs
	}
	c := ir.AuthzCondition{Attribute: attr, Key: key}
	lower := func(name string, vs []string) []ir.AuthzValue {
		var out []ir.AuthzValue
		for i, v := range vs {
			at := fmt.Sprintf("%s.%s[%d]", path, name, i)
			if av, ok := k.value(at, attr, v); ok {
				out = append(out, av)
			}
		}
		return out
	}
	c.Values = lower(field, values)
	c.NotValues = lower(notField, notValues)
	return append(cs, c)
}

// validLiteral is a path segment of a path template: RFC 3986 pchar, as
// Istio's webhook checks it (pkg/config/security).
var validLiteral = regexp.MustCompile(`^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$`)

// value checks and classifies one value of an attribute.
func (k *authzCheck) value(path, attr, v string) (ir.AuthzValue, bool) {
	if v == "" {
		k.errorf(codeValidation, path, "remove the empty value", "empty value not allowed in %s", attr)
		return ir.AuthzValue{}, false
	}
	switch attr {
	case "source.ip", "remote.ip":
		s := v
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				k.errorf(codeValidation, path, "write an IP address (10.1.2.3) or a CIDR range (10.1.0.0/16)", "bad IP address %q", v)
				return ir.AuthzValue{}, false
			}
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			k.errorf(codeValidation, path, "write a CIDR range such as 10.1.0.0/16 or 2001:db8::/32", "bad CIDR range %q: %v", v, err)
			return ir.AuthzValue{}, false
		}
		return ir.AuthzValue{Text: v, Kind: "cidr", Value: p.Masked().String()}, true
	case "destination.port":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n > 65535 {
			k.errorf(codeValidation, path, "write a port number from 0 to 65535 as a string, e.g. \"8080\"", "bad port %q", v)
			return ir.AuthzValue{}, false
		}
		return ir.AuthzValue{Text: v, Kind: "port", Port: int(n)}, true
	case "request.auth.principal":
		// istiod splits at the last '/' (an issuer may be a URL) and
		// matches the issuer and the subject apart.
		iss, sub, found := v, "", false
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			iss, sub, found = v[:i], v[i+1:], true
		}
		anyValue := ir.AuthzValue{Kind: "present"}
		out := ir.AuthzValue{Text: v}
		var s ir.AuthzValue
		switch {
		case v == "*":
			out, s = anyValue, anyValue
		case strings.HasPrefix(v, "*") && found:
			if iss == "*" {
				out = anyValue
			} else {
				out = ir.AuthzValue{Kind: "suffix", Value: iss[1:]}
			}
			s = ir.AuthzValue{Kind: "exact", Value: sub}
		case strings.HasPrefix(v, "*"):
			out, s = anyValue, ir.AuthzValue{Kind: "suffix", Value: v[1:]}
		case strings.HasSuffix(v, "*") && found:
			out = ir.AuthzValue{Kind: "exact", Value: iss}
			if sub == "*" {
				s = anyValue
			} else {
				s = ir.AuthzValue{Kind: "prefix", Value: sub[:len(sub)-1]}
			}
		case strings.HasSuffix(v, "*"):
			out, s = ir.AuthzValue{Kind: "prefix", Value: v[:len(v)-1]}, anyValue
		default:
			out, s = ir.AuthzValue{Kind: "exact", Value: iss}, ir.AuthzValue{Kind: "exact", Value: sub}
		}
		out.Text = v
		s.Text = sub
		out.Sub = &s
		return out, true
	case "source.namespace":
		// istiod: the regex ".*/ns/<value, * as .*>/.*" over the
		// principal.
		parts := strings.Split(v, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		return ir.AuthzValue{Text: v, Kind: "regex", Value: ".*/ns/" + strings.Join(parts, ".*") + "/.*"}, true
	case "paths":
		if strings.Contains(v, "{*}") || strings.Contains(v, "{**}") || strings.ContainsAny(v, "{}") {
			return k.pathTemplate(path, v)
		}
	case "hosts":
		v = strings.ToLower(v)
	}
	return stringForm(v), true
}

// stringForm is Istio's StringMatcher: "*" any non-empty value, "*x" a
// suffix, "x*" a prefix, else exact.
func stringForm(v string) ir.AuthzValue {
	switch {
	case v == "*":
		return ir.AuthzValue{Text: v, Kind: "present"}
	case strings.HasPrefix(v, "*"):
		return ir.AuthzValue{Text: v, Kind: "suffix", Value: v[1:]}
	case strings.HasSuffix(v, "*"):
		return ir.AuthzValue{Text: v, Kind: "prefix", Value: v[:len(v)-1]}
	}
	return ir.AuthzValue{Text: v, Kind: "exact", Value: v}
}

// pathTemplate checks a path template as Istio's webhook does
// (pkg/config/security CheckValidPathTemplate) and writes the regex of
// Envoy's uri_template matcher: {*} one path segment, {**} the rest of the
// path, zero or more segments.
func (k *authzCheck) pathTemplate(path, v string) (ir.AuthzValue, bool) {
	globs := strings.Split(strings.Trim(v, "/"), "/")
	var re strings.Builder
	if strings.HasPrefix(v, "/") {
		re.WriteString("/")
	}
	const pchar = `[a-zA-Z0-9\-._~%!$&'()+,;:@=]`
	seenAny := false
	for i, g := range globs {
		if i > 0 {
			re.WriteString("/")
		}
		switch {
		case seenAny && (g == "{*}" || g == "{**}"):
			// Istio's webhook allows literal segments after {**}, not
			// another operator.
			k.errorf(codeValidation, path, "put {**} last: it matches the rest of the path", "invalid path template %q: {**} is not the last operator", v)
			return ir.AuthzValue{}, false
		case g == "{*}":
			re.WriteString(pchar + "+")
		case g == "{**}":
			seenAny = true
			re.WriteString(`[a-zA-Z0-9\-._~%!$&'()+,;:@=/]*`)
		case strings.ContainsAny(g, "{}"):
			k.errorf(codeValidation, path, "use {*} for one path segment and {**} for the rest, each as a whole segment",
				"invalid path template %q: contains '{' or '}' beyond a supported path template", v)
			return ir.AuthzValue{}, false
		case !validLiteral.MatchString(g):
			k.errorf(codeValidation, path, "a template's literal segments may hold letters, digits and -._~%!$&'()+,;:@=",
				"invalid path template %q: segment %q is not a valid literal", v, g)
			return ir.AuthzValue{}, false
		default:
			re.WriteString(regexp.QuoteMeta(g))
		}
	}
	if strings.HasSuffix(v, "/") && len(v) > 1 {
		re.WriteString("/")
	}
	return ir.AuthzValue{Text: v, Kind: "regex", Value: re.String()}, true
}

// extAuthzProvider resolves a CUSTOM policy's provider in the mesh config
// (gwc build --mesh-config): an envoyExtAuthzHttp or envoyExtAuthzGrpc
// extension provider, as istiod requires.
func (c *compilation) extAuthzProvider(k *authzCheck, s *authzSpec) *ir.ExtAuthz {
	name := ""
	if s.Provider != nil {
		name = s.Provider.Name
	}
	if name == "" {
		k.errorf(codeValidation, "spec.provider", "name the meshConfig extensionProviders entry of the external authorizer: provider: {name: NAME}",
			"action CUSTOM needs provider.name")
		return nil
	}
	mp := c.mesh.Provider(name)
	if mp == nil {
		k.errorf(diag.CodeNotFound, "spec.provider.name", "define it in meshConfig extensionProviders (envoyExtAuthzHttp or envoyExtAuthzGrpc) and pass the file with gwc build --mesh-config FILE",
			"extension provider %q is not defined in the mesh config", name)
		return nil
	}
	if mp.Kind != "envoyExtAuthzHttp" && mp.Kind != "envoyExtAuthzGrpc" {
		k.errorf(codeValidation, "spec.provider.name", "name an envoyExtAuthzHttp or envoyExtAuthzGrpc provider",
			"extension provider %q is %s, not an external authorizer", name, mp.Kind)
		return nil
	}
	var f struct {
		Timeout                         string            `json:"timeout"`
		PathPrefix                      string            `json:"pathPrefix"`
		FailOpen                        bool              `json:"failOpen"`
		StatusOnError                   string            `json:"statusOnError"`
		IncludeRequestHeadersInCheck    []string          `json:"includeRequestHeadersInCheck"`
		IncludeHeadersInCheck           []string          `json:"includeHeadersInCheck"`
		IncludeAdditionalHeadersInCheck map[string]string `json:"includeAdditionalHeadersInCheck"`
		HeadersToUpstreamOnAllow        []string          `json:"headersToUpstreamOnAllow"`
		HeadersToDownstreamOnAllow      []string          `json:"headersToDownstreamOnAllow"`
		HeadersToDownstreamOnDeny       []string          `json:"headersToDownstreamOnDeny"`
		IncludeRequestBodyInCheck       any               `json:"includeRequestBodyInCheck"`
	}
	if err := mp.Decode(&f); err != nil {
		c.errorc(diag.CodeMeshConfig, c.mesh, mp.Field(""), "write the provider's fields as Istio's meshConfig reference gives them", "provider %q: %v", name, err)
		k.ok = false
		return nil
	}
	out := &ir.ExtAuthz{Provider: name, GRPC: mp.Kind == "envoyExtAuthzGrpc", Service: mp.Service, Port: mp.Port,
		PathPrefix: f.PathPrefix, FailOpen: f.FailOpen,
		IncludeRequestHeaders:    append(f.IncludeRequestHeadersInCheck, f.IncludeHeadersInCheck...),
		HeadersToUpstreamOnAllow: f.HeadersToUpstreamOnAllow, HeadersToDownstreamOnAllow: f.HeadersToDownstreamOnAllow,
		HeadersToDownstreamOnDeny: f.HeadersToDownstreamOnDeny}
	if mp.Service == "" || mp.Port == 0 {
		c.errorc(diag.CodeMeshConfig, c.mesh, mp.Field("service"), "set service and port of the authorizer",
			"provider %q has no service or port", name)
		k.ok = false
	}
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		if err != nil || d <= 0 {
			c.errorc(diag.CodeMeshConfig, c.mesh, mp.Field("timeout"), "write a positive duration such as 5s", "provider %q: timeout %q is not a positive duration", name, f.Timeout)
			k.ok = false
		}
		out.Timeout = d
	}
	if f.StatusOnError != "" {
		n, err := strconv.Atoi(f.StatusOnError)
		if err != nil || n < 200 || n > 599 {
			c.errorc(diag.CodeMeshConfig, c.mesh, mp.Field("statusOnError"), "write an HTTP status such as \"503\"", "provider %q: statusOnError %q is not an HTTP status", name, f.StatusOnError)
			k.ok = false
		}
		out.StatusOnError = n
	}
	if f.IncludeRequestBodyInCheck != nil {
		c.errorc(diag.CodeNotEnforced, c.mesh, mp.Field("includeRequestBodyInCheck"), "remove it: gwc sends the authorizer no body",
			"provider %q: includeRequestBodyInCheck is not enforced by gwc", name)
		k.ok = false
	}
	for _, hk := range slices.Sorted(maps.Keys(f.IncludeAdditionalHeadersInCheck)) {
		out.AdditionalHeaders = append(out.AdditionalHeaders, ir.Label{Key: hk, Value: f.IncludeAdditionalHeadersInCheck[hk]})
	}
	return out
}
