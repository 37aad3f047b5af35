package runtime

import (
	"net/http"
	"strings"
)

// Route matching: Envoy's rules for an Istio HTTPMatchRequest. The proxy and
// `gwc explain` both go through these methods, so what explain says is what
// the binary does.

// Select returns the index of the first route of vh that accepts r, or -1.
// The path is normalised first, as the proxy does; a path Envoy would
// reject (see normalizePath) or one not starting with "/" matches nothing.
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
	p, ok := normalizePath(p)
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
	p, ok := normalizePath(p)
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
