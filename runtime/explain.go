package runtime

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/runtime/internal/pathnorm"
)

// Explanations for `gwc explain`: why a match does or does not accept a
// request, computed by the very condition checks the proxy runs.

// Mismatch returns why m does not accept r, or "" when it does. It checks
// the conditions in the order the proxy does, with the same code; the
// Config must be prepared.
func (m *Match) Mismatch(r *http.Request) string {
	p := requestPath(r)
	if p == "" || p[0] != '/' {
		return fmt.Sprintf("path %q does not start with /", p)
	}
	p, ok := pathnorm.Normalize(p)
	if !ok {
		return fmt.Sprintf("path %q is refused by normalisation (400)", requestPath(r))
	}
	if m.Path.Kind != MatchAny && !m.pathMatches(p) {
		fold := ""
		if m.IgnoreCase && m.Path.Kind != MatchRegex {
			fold = " ignoring case"
		}
		return fmt.Sprintf("uri %s %q%s does not match path %q", m.Path.Kind, m.Path.Value, fold, p)
	}
	if m.Method.Kind != MatchAny && !m.Method.MatchString(r.Method) {
		return fmt.Sprintf("method %s %q does not match %q", m.Method.Kind, m.Method.Value, r.Method)
	}
	for i := range m.Headers {
		h := &m.Headers[i]
		if !h.matches(r, p) {
			return fmt.Sprintf("header %s: %s", h.Name, describeHeader(h, r, p))
		}
	}
	for i := range m.WithoutHeaders {
		h := &m.WithoutHeaders[i]
		if h.matchesInverted(r, p) {
			return fmt.Sprintf("withoutHeaders %s: the request has it matching %s", h.Name, describeCondition(h.Match, true))
		}
	}
	for i := range m.Query {
		q := &m.Query[i]
		if !q.matches(r) {
			v, ok := "", false
			if r.URL != nil {
				v, ok = queryValue(r.URL.RawQuery, q.Name)
			}
			if !ok {
				return fmt.Sprintf("query parameter %s is absent", q.Name)
			}
			return fmt.Sprintf("query parameter %s=%q does not match %s", q.Name, v, describeCondition(q.Match, true))
		}
	}
	return ""
}

func describeHeader(h *HeaderMatch, r *http.Request, path string) string {
	var v string
	if h.pseudo == pseudoClaim {
		return describeClaim(h, r)
	}
	if h.pseudo != notPseudo {
		v = pseudoValue(r, h.pseudo, path)
	} else {
		vals := r.Header[h.key]
		if len(vals) == 0 {
			return "absent"
		}
		for i, s := range vals {
			if i > 0 {
				v += ","
			}
			v += s
		}
	}
	return fmt.Sprintf("%q does not match %s", v, describeCondition(h.Match, true))
}

func describeCondition(m StringMatch, presence bool) string {
	if m.Kind == MatchAny && presence {
		return "present"
	}
	return m.Kind.String() + " " + strconv.Quote(m.Value)
}

// Describe returns a match's conditions as one line, for `gwc routes`.
func (m *Match) Describe() string {
	var s string
	add := func(part string) {
		if s != "" {
			s += " "
		}
		s += part
	}
	if m.Path.Kind != MatchAny {
		add("uri " + describeCondition(m.Path, false))
		if m.IgnoreCase {
			add("ignoreUriCase")
		}
	}
	if m.Method.Kind != MatchAny {
		add("method " + describeCondition(m.Method, false))
	}
	for _, h := range m.Headers {
		add("header " + h.Name + " " + describeCondition(h.Match, true))
	}
	for _, h := range m.WithoutHeaders {
		add("without " + h.Name + " " + describeCondition(h.Match, true))
	}
	for _, q := range m.Query {
		add("query " + q.Name + " " + describeCondition(q.Match, true))
	}
	if s == "" {
		s = "any"
	}
	if m.Name != "" {
		s = "(" + m.Name + ") " + s
	}
	return s
}

// Location returns where the redirect sends r, as the proxy computes it.
func (rd *Redirect) Location(r *http.Request) string {
	p, _ := pathnorm.Normalize(requestPath(r))
	return rd.location(r, p)
}

// RewrittenPath returns the path sent upstream after rw, or "" when rw
// leaves the path alone.
func (rw *Rewrite) RewrittenPath(r *http.Request) string {
	p, _ := pathnorm.Normalize(requestPath(r))
	np, ok := rw.path(p)
	if !ok {
		return ""
	}
	return np
}

// TLSServerFor returns the index in l.TLS of the server a handshake with
// server name sni reaches, picked as the listener picks it, or -1 when
// none does or the name reaches a passthrough route.
func (l *Listener) TLSServerFor(sni string) int {
	t := newSNITable()
	for i := range l.TLS {
		t.add(i, l.TLS[i].SNI)
	}
	for i, r := range l.L4 {
		t.add(len(l.TLS)+i, r.SNI)
	}
	if i := t.pick(sni); i < len(l.TLS) {
		return i
	}
	return -1
}

// L4RouteFor returns the index in l.L4 of the connection route a
// connection with server name sni takes, or -1: on a TCP listener the
// first route takes every connection; on a TLS listener the route is
// picked by SNI, as a handshake picks it (a terminating server wins a
// name both have).
func (l *Listener) L4RouteFor(sni string) int {
	if len(l.L4) == 0 {
		return -1
	}
	if strings.EqualFold(l.Protocol, "TCP") {
		return 0
	}
	t := newSNITable()
	for i := range l.TLS {
		t.add(i, l.TLS[i].SNI)
	}
	for i, r := range l.L4 {
		t.add(len(l.TLS)+i, r.SNI)
	}
	if i := t.pick(sni); i >= len(l.TLS) {
		return i - len(l.TLS)
	}
	return -1
}

// HTTPSRedirect returns the status and Location the gateway answers a
// request for vh with when vh requires TLS (a server's httpsRedirect) and
// r came in plaintext (r.TLS nil), written by the proxy's own code; 0
// when the request goes on to the routes.
func (vh *VirtualHost) HTTPSRedirect(r *http.Request) (int, string) {
	if !vh.RequireTLS || r.TLS != nil {
		return 0, ""
	}
	w := &headerRecorder{header: http.Header{}}
	redirectHTTPS(w, r)
	return w.status, w.header.Get("Location")
}

// headerRecorder keeps the status and headers of an answer, not its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (w *headerRecorder) Header() http.Header         { return w.header }
func (w *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerRecorder) WriteHeader(status int)      { w.status = status }

// Authorize returns what the AuthorizationPolicies decide about r arriving
// on port, with id the identity request authentication established (nil
// for none), by the code the gateway runs: X-Forwarded-For trusted as the
// Topology says, the path normalised, the rules in Istio's order. With no
// policy every request is allowed.
func (cfg *Config) Authorize(r *http.Request, port int, id *Identity) AuthzDecision {
	if cfg.Authz == nil {
		return AuthzDecision{Allowed: true}
	}
	if n := cfg.Topology.NumTrustedProxies; n > 0 {
		r = trustClientAddress(r, n)
	}
	path, ok := authzPath(r)
	if !ok {
		return AuthzDecision{}
	}
	q := newAuthzRequest(r, path, port, id)
	d := cfg.Authz.decide(q)
	d.Custom = cfg.Authz.custom(q)
	return d
}

// Describe says which rule decided, for `gwc explain`.
func (d AuthzDecision) Describe() string {
	s := d.describeLocal()
	if d.Custom != nil {
		s = "sent first to the external authorizer by CUSTOM rule " + d.Custom.Name + " (" + d.Custom.ID + "), whose denial would answer; then " + s
	}
	return s
}

func (d AuthzDecision) describeLocal() string {
	switch {
	case d.Allowed && d.Rule != nil:
		return "allowed by ALLOW rule " + d.Rule.Name + " (" + d.Rule.ID + ")"
	case d.Allowed:
		return "allowed: no DENY rule matches and there is no ALLOW policy"
	case d.Rule != nil:
		return "403 RBAC: access denied by DENY rule " + d.Rule.Name + " (" + d.Rule.ID + ")"
	case d.Action == "ALLOW":
		return "403 RBAC: access denied: no ALLOW rule matches"
	}
	return "400, the path does not normalise"
}

// Describe returns the rule's conditions as one line, for `gwc routes`:
// "from (...) or (...); to (...); when ...", "any request" for none.
func (r *AuthzRule) Describe() string {
	var parts []string
	clauses := func(word string, cs []AuthzClause) {
		if len(cs) == 0 {
			return
		}
		var alts []string
		for _, c := range cs {
			alts = append(alts, "("+describeConditions(c.Conditions)+")")
		}
		parts = append(parts, word+" "+strings.Join(alts, " or "))
	}
	clauses("from", r.From)
	clauses("to", r.To)
	if len(r.When) > 0 {
		parts = append(parts, "when "+describeConditions(r.When))
	}
	if len(parts) == 0 {
		return "any request"
	}
	return strings.Join(parts, "; ")
}

func describeConditions(cs []AuthzCondition) string {
	var out []string
	for _, c := range cs {
		name := c.Attr.String()
		for _, k := range c.Key {
			name += "[" + k + "]"
		}
		if len(c.Values) > 0 {
			out = append(out, name+" "+describeAuthzValues(c.Attr, c.Values))
		}
		if len(c.NotValues) > 0 {
			out = append(out, name+" not "+describeAuthzValues(c.Attr, c.NotValues))
		}
	}
	return strings.Join(out, " and ")
}

func describeAuthzValues(attr AuthzAttr, vs []AuthzValue) string {
	var out []string
	for _, v := range vs {
		switch attr {
		case AttrSourceIP, AttrRemoteIP:
			a, _ := netip.AddrFromSlice(v.IP)
			out = append(out, netip.PrefixFrom(a, v.Bits).String())
		case AttrPort:
			out = append(out, strconv.Itoa(v.Port))
		case AttrRequestPrincipal:
			s := "iss " + v.Match.describe()
			if v.Sub != nil {
				s += " sub " + v.Sub.describe()
			}
			out = append(out, s)
		default:
			out = append(out, v.Match.describe())
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return "in (" + strings.Join(out, ", ") + ")"
}

func (m *AuthzMatch) describe() string {
	switch m.Kind {
	case AuthzExact:
		return strconv.Quote(m.Value)
	case AuthzPrefix:
		return "prefix " + strconv.Quote(m.Value)
	case AuthzSuffix:
		return "suffix " + strconv.Quote(m.Value)
	case AuthzPresent:
		return "present"
	case AuthzRegex:
		return "regex " + strconv.Quote(m.Value)
	}
	return "?"
}
