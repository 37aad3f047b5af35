package runtime

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gwc-dev/gwc/runtime/internal/pathnorm"
)

// Authz is the gateway's AuthorizationPolicies (security.istio.io), compiled
// into the rules Envoy's RBAC filter holds under Istio: one list per action,
// each rule named as istiod names it, ns[NS]-policy[NAME]-rule[I], and
// sorted by that name, the order Envoy walks its policies in (a proto map,
// ordered by key), so the policy a denial names is the one Envoy would name.
// Istio's evaluation order: CUSTOM, then DENY, then ALLOW; AUDIT only logs.
// https://istio.io/latest/docs/concepts/security/#implicit-enablement
type Authz struct {
	// Custom are the rules of the CUSTOM policies: a request one matches
	// is sent to Config.ExtAuthz.
	Custom []AuthzRule
	Deny   []AuthzRule
	Audit  []AuthzRule
	Allow  []AuthzRule
	// AllowPolicies says an ALLOW policy exists: then a request no ALLOW
	// rule matches is denied, even when the policies have no rules at all
	// (Istio's allow-nothing policy).
	AllowPolicies bool
}

// AuthzRule is one rule of an AuthorizationPolicy. It matches when a From
// clause matches (or there is none), a To clause matches (or there is
// none) and every When condition holds. A rule with none of them matches
// every request (rules: [{}]).
type AuthzRule struct {
	// Name is Envoy's policy name: ns[NS]-policy[NAME]-rule[I].
	Name string
	// ID is the rule's origin, "file:line:col ns/name rules[i]".
	ID   string
	From []AuthzClause
	To   []AuthzClause
	When []AuthzCondition
}

// AuthzClause is one from[].source or to[].operation: its conditions are
// AND'ed; one with none matches.
type AuthzClause struct {
	Conditions []AuthzCondition
}

// AuthzAttr is the request attribute a condition reads, as Istio names it.
type AuthzAttr uint8

const (
	AttrSourceIP         AuthzAttr = iota // source.ip, ipBlocks: the peer's address
	AttrRemoteIP                          // remote.ip, remoteIpBlocks: the client's, after X-Forwarded-For trust
	AttrSourcePrincipal                   // source.principal, principals: the client certificate's SPIFFE URI
	AttrSourceNamespace                   // source.namespace, namespaces: its namespace segment
	AttrRequestPrincipal                  // request.auth.principal, requestPrincipals: the JWT's iss and sub
	AttrRequestAudiences                  // request.auth.audiences
	AttrRequestPresenter                  // request.auth.presenter
	AttrRequestClaim                      // request.auth.claims[...]
	AttrRequestHeader                     // request.headers[...]
	AttrHost                              // hosts: the Host (:authority), case-insensitive
	AttrMethod                            // methods
	AttrPath                              // paths: the normalised path without the query
	AttrPort                              // ports, destination.port: the listener's port
	AttrSNI                               // connection.sni
)

// String names the attribute as Istio's when keys do.
func (a AuthzAttr) String() string {
	if int(a) < len(attrNames) {
		return attrNames[a]
	}
	return "attribute?"
}

var attrNames = [...]string{"source.ip", "remote.ip", "source.principal", "source.namespace",
	"request.auth.principal", "request.auth.audiences", "request.auth.presenter", "request.auth.claims",
	"request.headers", "hosts", "methods", "paths", "destination.port", "connection.sni"}

// AuthzCondition is one field of a source or an operation, or one when
// condition: it holds when one of Values matches (or there are none) and
// none of NotValues does.
type AuthzCondition struct {
	Attr AuthzAttr
	// Key is the claim's path (request.auth.claims[a][b]) or the header's
	// name as net/http keys it (request.headers[x-user] is "X-User").
	Key       []string
	Values    []AuthzValue
	NotValues []AuthzValue
}

// AuthzMatchKind is how an AuthzMatch compares: Istio's string forms.
type AuthzMatchKind uint8

const (
	AuthzExact   AuthzMatchKind = iota
	AuthzPrefix                 // "abc*"
	AuthzSuffix                 // "*abc"
	AuthzPresent                // "*": any non-empty value
	AuthzRegex                  // path templates and namespace globs, an RE2 full match
)

// AuthzMatch is one string form.
type AuthzMatch struct {
	Kind  AuthzMatchKind
	Value string
}

// AuthzValue is one value of a condition: a string form; for request
// principals the issuer's form in Match and the subject's in Sub; for IP
// attributes a network; for ports a number.
type AuthzValue struct {
	Match AuthzMatch
	Sub   *AuthzMatch
	// IP is the network's address (4 or 16 bytes) and Bits its prefix
	// length: the CIDR or address Istio's ipBlocks take, parsed at build.
	IP   []byte
	Bits int
	Port int
}

// authzRequest is what the rules read of one request.
type authzRequest struct {
	r          *http.Request
	path       string
	port       int
	sourceIP   netip.Addr
	remoteIP   netip.Addr
	id         *Identity
	principals []string // the client certificate's SPIFFE URIs, without "spiffe://"
}

func newAuthzRequest(r *http.Request, path string, port int, id *Identity) *authzRequest {
	q := &authzRequest{r: r, path: path, port: port, id: id}
	q.sourceIP, _ = netip.ParseAddr(peerIP(r))
	q.remoteIP, _ = netip.ParseAddr(clientIP(r.RemoteAddr))
	q.sourceIP, q.remoteIP = q.sourceIP.Unmap(), q.remoteIP.Unmap()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		for _, u := range r.TLS.PeerCertificates[0].URIs {
			if u.Scheme == "spiffe" {
				q.principals = append(q.principals, strings.TrimPrefix(u.String(), "spiffe://"))
			}
		}
	}
	return q
}

// AuthzDecision is what the policies decided about a request.
type AuthzDecision struct {
	// Custom is the CUSTOM rule that sends the request to the external
	// authorizer, whose answer comes first; nil when none matches.
	Custom  *AuthzRule
	Allowed bool
	// Rule is the rule that decided: the DENY rule that matched, or the
	// ALLOW rule that let the request in; nil when no policy applies or no
	// ALLOW rule matched.
	Rule *AuthzRule
	// Action is "DENY" or "ALLOW" for Rule; "ALLOW" with no Rule when an
	// ALLOW policy exists and nothing matched (denied), "" when no policy
	// applies (allowed).
	Action string
	// Audited are the AUDIT rules that matched.
	Audited []*AuthzRule
}

// Details is Envoy's %RESPONSE_CODE_DETAILS% for a denial.
func (d AuthzDecision) Details() string {
	if d.Rule != nil {
		return "rbac_access_denied_matched_policy[" + d.Rule.Name + "]"
	}
	return "rbac_access_denied_matched_policy[none]"
}

// custom returns the first CUSTOM rule q matches, nil for none.
func (a *Authz) custom(q *authzRequest) *AuthzRule {
	for i := range a.Custom {
		if a.Custom[i].matches(q) {
			return &a.Custom[i]
		}
	}
	return nil
}

// decide runs the DENY, AUDIT and ALLOW policies over q in Istio's order.
func (a *Authz) decide(q *authzRequest) AuthzDecision {
	var d AuthzDecision
	for i := range a.Deny {
		if a.Deny[i].matches(q) {
			return AuthzDecision{Rule: &a.Deny[i], Action: "DENY"}
		}
	}
	for i := range a.Audit {
		if a.Audit[i].matches(q) {
			d.Audited = append(d.Audited, &a.Audit[i])
		}
	}
	if !a.AllowPolicies {
		d.Allowed = true
		return d
	}
	d.Action = "ALLOW"
	for i := range a.Allow {
		if a.Allow[i].matches(q) {
			d.Allowed, d.Rule = true, &a.Allow[i]
			return d
		}
	}
	return d
}

func (r *AuthzRule) matches(q *authzRequest) bool {
	return anyClause(r.From, q) && anyClause(r.To, q) && allConditions(r.When, q)
}

func anyClause(cs []AuthzClause, q *authzRequest) bool {
	if len(cs) == 0 {
		return true
	}
	for i := range cs {
		if allConditions(cs[i].Conditions, q) {
			return true
		}
	}
	return false
}

func allConditions(cs []AuthzCondition, q *authzRequest) bool {
	for i := range cs {
		if !cs[i].holds(q) {
			return false
		}
	}
	return true
}

func (c *AuthzCondition) holds(q *authzRequest) bool {
	if len(c.Values) > 0 && !c.anyValue(c.Values, q) {
		return false
	}
	return len(c.NotValues) == 0 || !c.anyValue(c.NotValues, q)
}

func (c *AuthzCondition) anyValue(vs []AuthzValue, q *authzRequest) bool {
	for i := range vs {
		if c.valueMatches(&vs[i], q) {
			return true
		}
	}
	return false
}

// valueMatches says whether one value of c matches q. An attribute the
// request does not have (no token, no client certificate, no SNI) matches
// no value, as in Envoy, so its not-form matches.
func (c *AuthzCondition) valueMatches(v *AuthzValue, q *authzRequest) bool {
	switch c.Attr {
	case AttrSourceIP:
		return v.contains(q.sourceIP)
	case AttrRemoteIP:
		return v.contains(q.remoteIP)
	case AttrSourcePrincipal:
		for _, p := range q.principals {
			if v.Match.matches(p) {
				return true
			}
		}
	case AttrSourceNamespace:
		// Istio matches namespaces with ".*/ns/<value>/.*" over the
		// principal; Value is that regex, written at build.
		for _, p := range q.principals {
			if v.Match.matches("spiffe://" + p) {
				return true
			}
		}
	case AttrRequestPrincipal:
		if q.id == nil || v.Sub == nil {
			return false
		}
		iss, sub := q.id.issuerSubject()
		return v.Match.matches(iss) && v.Sub.matches(sub)
	case AttrRequestAudiences:
		return q.id != nil && v.Match.matchesAny(q.id.Audiences)
	case AttrRequestPresenter:
		return q.id != nil && v.Match.matches(q.id.Presenter)
	case AttrRequestClaim:
		if q.id == nil {
			return false
		}
		return v.Match.matchesClaim(authzClaim(q.id.Claims, c.Key))
	case AttrRequestHeader:
		val, ok := authzHeader(q.r, c.Key)
		if !ok {
			return false
		}
		return v.Match.Kind == AuthzPresent || v.Match.matches(val)
	case AttrHost:
		return v.Match.matchesFold(q.r.Host)
	case AttrMethod:
		return v.Match.matches(q.r.Method)
	case AttrPath:
		return v.Match.matches(q.path)
	case AttrPort:
		return v.Port == q.port
	case AttrSNI:
		return q.r.TLS != nil && v.Match.matches(q.r.TLS.ServerName)
	}
	return false
}

func (v *AuthzValue) contains(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	a, ok := netip.AddrFromSlice(v.IP)
	if !ok {
		return false
	}
	p := netip.PrefixFrom(a.Unmap(), v.Bits)
	return p.IsValid() && p.Contains(ip)
}

// issuerSubject returns the token's iss and sub, from its claims, or
// split from the principal at its last '/' (Istio splits the values the
// same way) when the claims are not strings.
func (id *Identity) issuerSubject() (string, string) {
	iss, ok1 := id.Claims["iss"].(string)
	sub, ok2 := id.Claims["sub"].(string)
	if ok1 && ok2 {
		return iss, sub
	}
	if i := strings.LastIndexByte(id.Principal, '/'); i >= 0 {
		return id.Principal[:i], id.Principal[i+1:]
	}
	return "", ""
}

// authzClaim walks nested claims: request.auth.claims[a][b] is claims.a.b.
func authzClaim(claims map[string]any, path []string) any {
	var v any = claims
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// authzHeader returns a request header as Envoy's header matcher sees it:
// several fields joined with ","; pseudo-headers read from the request.
func authzHeader(r *http.Request, key []string) (string, bool) {
	if len(key) != 1 {
		return "", false
	}
	switch key[0] {
	case ":authority":
		return r.Host, true
	case ":method":
		return r.Method, true
	case ":path":
		return r.RequestURI, r.RequestURI != ""
	}
	vs, ok := r.Header[key[0]]
	if !ok {
		return "", false
	}
	return strings.Join(vs, ","), true
}

func (m *AuthzMatch) matches(s string) bool {
	switch m.Kind {
	case AuthzExact:
		return s == m.Value
	case AuthzPrefix:
		return strings.HasPrefix(s, m.Value)
	case AuthzSuffix:
		return strings.HasSuffix(s, m.Value)
	case AuthzPresent:
		return s != ""
	case AuthzRegex:
		re := authzRegex(m.Value)
		return re != nil && re.MatchString(s)
	}
	return false
}

// matchesFold compares ignoring ASCII case: Istio matches hosts so
// (IgnoreCase); Value is lower case.
func (m *AuthzMatch) matchesFold(s string) bool {
	switch m.Kind {
	case AuthzExact:
		return strings.EqualFold(s, m.Value)
	case AuthzPrefix:
		return len(s) >= len(m.Value) && strings.EqualFold(s[:len(m.Value)], m.Value)
	case AuthzSuffix:
		return len(s) >= len(m.Value) && strings.EqualFold(s[len(s)-len(m.Value):], m.Value)
	}
	return m.matches(s)
}

func (m *AuthzMatch) matchesAny(ss []string) bool {
	for _, s := range ss {
		if m.matches(s) {
			return true
		}
	}
	return false
}

// matchesClaim matches a claim that is a string or a list holding one
// string that matches, as Istio's claim matchers do; other types never
// match.
func (m *AuthzMatch) matchesClaim(v any) bool {
	switch v := v.(type) {
	case string:
		return m.matches(v)
	case []string:
		return m.matchesAny(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && m.matches(s) {
				return true
			}
		}
	}
	return false
}

// authzRegexes holds the compiled regexes of AuthzRegex matches, compiled
// on first use (a configuration is never parsed at start-up; the regexes
// were written and checked by gwc build).
var authzRegexes sync.Map // source -> *regexp.Regexp

func authzRegex(src string) *regexp.Regexp {
	if re, ok := authzRegexes.Load(src); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile("^(?:" + src + ")$")
	if err != nil {
		return nil
	}
	authzRegexes.Store(src, re)
	return re
}

// check reports a table no build would write: a regex that does not
// compile, a network of the wrong length, a principal value without its
// subject. A rule that cannot be evaluated must stop the start, never
// match nothing: a DENY rule that matches nothing fails open.
func (a *Authz) check() error {
	var errs []error
	for _, rules := range [][]AuthzRule{a.Custom, a.Deny, a.Audit, a.Allow} {
		for i := range rules {
			r := &rules[i]
			for _, c := range r.conditions() {
				for _, v := range append(slices.Clip(c.Values), c.NotValues...) {
					if err := v.check(c.Attr); err != nil {
						errs = append(errs, fmt.Errorf("authorization rule %s (%s): %s: %w", r.Name, r.ID, c.Attr, err))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// conditions returns every condition of r.
func (r *AuthzRule) conditions() []*AuthzCondition {
	var out []*AuthzCondition
	for _, cs := range [][]AuthzClause{r.From, r.To} {
		for i := range cs {
			for j := range cs[i].Conditions {
				out = append(out, &cs[i].Conditions[j])
			}
		}
	}
	for i := range r.When {
		out = append(out, &r.When[i])
	}
	return out
}

func (v *AuthzValue) check(attr AuthzAttr) error {
	switch attr {
	case AttrSourceIP, AttrRemoteIP:
		a, ok := netip.AddrFromSlice(v.IP)
		if !ok || !netip.PrefixFrom(a.Unmap(), v.Bits).IsValid() {
			return fmt.Errorf("network %v/%d is not an IPv4 or IPv6 network", v.IP, v.Bits)
		}
		return nil
	case AttrRequestPrincipal:
		if v.Sub == nil {
			return errors.New("a request principal needs its subject's match")
		}
	}
	for _, m := range []*AuthzMatch{&v.Match, v.Sub} {
		if m != nil && m.Kind == AuthzRegex && authzRegex(m.Value) == nil {
			return fmt.Errorf("regex %q does not compile", m.Value)
		}
	}
	return nil
}

// authorize runs the AuthorizationPolicies over r, as Envoy's RBAC filter
// does after jwt_authn: a denied request is answered 403 "RBAC: access
// denied" with the matched policy in the response code details; AUDIT
// rules that match are logged. It reports whether r goes on.
func (h *listenerHandler) authorize(w http.ResponseWriter, r *http.Request, z *Authz) bool {
	path, ok := authzPath(r)
	if !ok {
		// The router's 400 for a path that does not normalise comes
		// before any policy.
		localReply(w, http.StatusBadRequest, "Bad Request", false)
		return false
	}
	// The listener terminated TLS: r.TLS (SNI, client certificate) is
	// set from the connection here, before routing sets it.
	requestTLS(r)
	q := newAuthzRequest(r, path, h.l.Port, IdentityOf(r))
	if ea := h.e.cfg.ExtAuthz; ea != nil && z.custom(q) != nil && !ea.Check(w, r) {
		// CUSTOM first, as Istio orders the filters.
		return false
	}
	d := z.decide(q)
	for _, a := range d.Audited {
		h.e.log.Info("authorization audit", "policy", a.Name, "rule", a.ID, "method", r.Method, "host", r.Host, "path", path)
	}
	if d.Allowed {
		return true
	}
	noteDetails(w, d.Details())
	localReply(w, http.StatusForbidden, "RBAC: access denied", false)
	return false
}

// authzPath is the path the rules match: normalised, as Envoy normalises
// it before any filter runs, without the query; false when it does not
// normalise. A request target that is not a path ("*") is kept as is.
func authzPath(r *http.Request) (string, bool) {
	path := requestPath(r)
	if path == "" || path[0] != '/' {
		return path, true
	}
	return pathnorm.Normalize(path)
}
