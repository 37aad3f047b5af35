package runtime

import (
	"net/http"
	"strings"
)

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
