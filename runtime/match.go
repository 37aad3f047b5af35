package runtime

import (
	"net/http"
	"strings"

	"github.com/gwc-dev/gwc/runtime/internal/pathnorm"
)

// Route matching: Envoy's rules for an Istio HTTPMatchRequest. The proxy and
// `gwc explain` both go through these methods, so what explain says is what
// the binary does.

// Select returns the index of the first route of vh that accepts r, or -1.
// The path is normalised first, as the proxy does; a path Envoy would
// reject (see pathnorm.Normalize) or one not starting with "/" matches nothing.
// The Config holding vh must have been prepared (Config.Prepare): regexes
// (parsed; compiled on first use) and header keys are prepared there, and
// the route index built. Prepare leaves the virtual hosts of a Generated
// config to their first request (lazyprep.go), so Select on one of those
// needs that request first.
func (vh *VirtualHost) Select(r *http.Request) int {
	p := requestPath(r)
	if p == "" || p[0] != '/' {
		return -1
	}
	p, ok := pathnorm.Normalize(p)
	if !ok {
		return -1
	}
	return vh.selectPath(r, p)
}

// selectPath is Select for a path already normalised.
func (vh *VirtualHost) selectPath(r *http.Request, path string) int {
	if vh.index != nil {
		return vh.selectIndexed(r, path)
	}
	return vh.selectScan(r, path)
}

// accepts reports whether any of the route's matches accepts the request;
// a route without matches accepts every request.
func (rt *Route) accepts(r *http.Request, path string) bool {
	if len(rt.Matches) == 0 {
		return true
	}
	for i := range rt.Matches {
		if rt.Matches[i].matches(r, path) {
			return true
		}
	}
	return false
}

// Matches reports whether every condition of m holds for r, the path
// normalised as Select does. Prepare must have run.
func (m *Match) Matches(r *http.Request) bool {
	p := requestPath(r)
	if p == "" || p[0] != '/' {
		return false
	}
	p, ok := pathnorm.Normalize(p)
	return ok && m.matches(r, p)
}

func (m *Match) matches(r *http.Request, path string) bool {
	if m.Path.Kind != MatchAny && !m.pathMatches(path) {
		return false
	}
	if m.Method.Kind != MatchAny && !m.Method.MatchString(r.Method) {
		return false
	}
	for i := range m.Headers {
		if !m.Headers[i].matches(r, path) {
			return false
		}
	}
	if len(m.WithoutHeaders) > 0 || len(m.Query) > 0 {
		return m.matchesMore(r, path)
	}
	return true
}

// MatchString reports whether s satisfies the match. MatchAny accepts
// anything; a regex must match all of s.
func (sm *StringMatch) MatchString(s string) bool {
	switch sm.Kind {
	case MatchAny:
		return true
	case MatchExact:
		return s == sm.Value
	case MatchPrefix:
		return strings.HasPrefix(s, sm.Value)
	case MatchRegex:
		l := sm.cell()
		if l == nil {
			return false
		}
		re := l.get()
		return re != nil && re.MatchString(s)
	}
	return false
}

// matches applies the header condition. Several values of one header count
// as one value joined by ",", as Envoy sees them; an absent header fails
// every condition, and MatchAny asks only for presence.
func (h *HeaderMatch) matches(r *http.Request, path string) bool {
	if h.pseudo == pseudoClaim {
		return h.claimMatches(r)
	}
	if h.pseudo != notPseudo {
		v := pseudoValue(r, h.pseudo, path)
		return h.Match.MatchString(v)
	}
	vals := r.Header[h.key]
	if len(vals) == 0 {
		return false
	}
	if len(vals) == 1 {
		return h.Match.MatchString(vals[0])
	}
	switch h.Match.Kind {
	case MatchAny:
		return true
	case MatchExact:
		return joinedEqual(vals, h.Match.Value)
	case MatchPrefix:
		return joinedHasPrefix(vals, h.Match.Value)
	}
	return h.Match.MatchString(strings.Join(vals, ","))
}

// pseudoValue returns what Envoy's pseudo-header holds for r.
func pseudoValue(r *http.Request, p pseudoHeader, path string) string {
	switch p {
	case pseudoAuthority:
		return r.Host
	case pseudoMethod:
		return r.Method
	case pseudoScheme:
		if r.TLS != nil {
			return "https"
		}
		return "http"
	case pseudoPath:
		if r.URL != nil && (r.URL.RawQuery != "" || r.URL.ForceQuery) {
			return path + "?" + r.URL.RawQuery
		}
		return path
	}
	return ""
}

// joinedEqual reports whether strings.Join(vals, ",") == want, without
// building the joined string.
func joinedEqual(vals []string, want string) bool {
	for i, v := range vals {
		if i > 0 {
			if want == "" || want[0] != ',' {
				return false
			}
			want = want[1:]
		}
		if !strings.HasPrefix(want, v) {
			return false
		}
		want = want[len(v):]
	}
	return want == ""
}

// joinedHasPrefix reports whether strings.Join(vals, ",") starts with
// prefix, without building the joined string.
func joinedHasPrefix(vals []string, prefix string) bool {
	for i, v := range vals {
		if prefix == "" {
			return true
		}
		if i > 0 {
			if prefix[0] != ',' {
				return false
			}
			prefix = prefix[1:]
			if prefix == "" {
				return true
			}
		}
		if len(prefix) <= len(v) {
			return strings.HasPrefix(v, prefix)
		}
		if !strings.HasPrefix(prefix, v) {
			return false
		}
		prefix = prefix[len(v):]
	}
	return prefix == ""
}

// The match conditions beyond path, method and headers: ignoreUriCase,
// withoutHeaders and queryParams.

// pathMatches applies the path condition; with IgnoreCase an exact or
// prefix value (lower-cased by Prepare) is compared ignoring ASCII case,
// as Envoy's case_sensitive: false. A regex is never case-folded.
func (m *Match) pathMatches(path string) bool {
	if !m.IgnoreCase {
		return m.Path.MatchString(path)
	}
	switch m.Path.Kind {
	case MatchExact:
		return len(path) == len(m.Path.Value) && lowerEqual(path, m.Path.Value)
	case MatchPrefix:
		return len(path) >= len(m.Path.Value) && lowerEqual(path[:len(m.Path.Value)], m.Path.Value)
	}
	return m.Path.MatchString(path)
}

// lowerEqual reports whether s equals the lower-case lower, ignoring ASCII
// case in s.
func lowerEqual(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func (m *Match) matchesMore(r *http.Request, path string) bool {
	for i := range m.WithoutHeaders {
		if m.WithoutHeaders[i].matchesInverted(r, path) {
			return false
		}
	}
	for i := range m.Query {
		if !m.Query[i].matches(r) {
			return false
		}
	}
	return true
}

// matchesInverted reports whether the header condition holds, for a
// withoutHeaders entry that must then fail. Istio sets Envoy's
// treat_missing_header_as_empty there: a missing header is compared as "",
// except by a presence match, which it fails.
func (h *HeaderMatch) matchesInverted(r *http.Request, path string) bool {
	if h.pseudo == notPseudo && len(r.Header[h.key]) == 0 {
		if h.Match.Kind == MatchAny {
			return false
		}
		return h.Match.MatchString("")
	}
	return h.matches(r, path)
}

// matches applies the condition to the first value of the parameter in
// the raw query, not decoded, as Envoy's query_parameters matcher does; a
// parameter without "=" has the value "". MatchAny asks for presence.
func (q *QueryMatch) matches(r *http.Request) bool {
	if r.URL == nil {
		return false
	}
	v, ok := queryValue(r.URL.RawQuery, q.Name)
	if !ok {
		return false
	}
	return q.Match.MatchString(v)
}

// queryValue finds the first value of name in a raw query without
// allocating.
func queryValue(query, name string) (string, bool) {
	for query != "" {
		var kv string
		if i := strings.IndexByte(query, '&'); i >= 0 {
			kv, query = query[:i], query[i+1:]
		} else {
			kv, query = query, ""
		}
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// requestPath returns the path of r as the client sent it, without the
// query: for origin-form requests a slice of RequestURI, for absolute-form
// ones the path after the authority ("/" if none), for requests built in
// process (no RequestURI) the URL's escaped path. Anything else ("*", a
// CONNECT authority) is returned as is and does not start with "/".
func requestPath(r *http.Request) string {
	u := r.RequestURI
	if u == "" {
		if r.URL == nil {
			return ""
		}
		if r.URL.Opaque != "" {
			return r.URL.Opaque
		}
		p := r.URL.EscapedPath()
		if p == "" {
			p = "/"
		}
		return p
	}
	if u[0] != '/' {
		i := strings.Index(u, "://")
		if i <= 0 {
			return u
		}
		rest := u[i+3:]
		j := strings.IndexAny(rest, "/?")
		if j < 0 || rest[j] == '?' {
			return "/"
		}
		u = rest[j:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
