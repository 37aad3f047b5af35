// Package hosttable provides the ingress's virtual-host lookup: exact hosts
// through a minimal perfect hash computed at build time, wildcard hosts by
// longest suffix through a second table, then the catch-all "*".
package hosttable

// Table maps lower-case keys to values. It is built by codegen/mph at build
// time and written into the generated source as a literal.
//
// PLACEHOLDER: linear scan; to be replaced by the perfect hash.
type Table struct {
	Seed   uint64
	Pilots []uint16
	Keys   []string
	Values []int32
}

// Lookup returns the value stored for key, compared ASCII case-insensitively.
func (t *Table) Lookup(key string) (int32, bool) {
	for i, k := range t.Keys {
		if equalFold(k, key) {
			return t.Values[i], true
		}
	}
	return 0, false
}

func equalFold(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
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

// Router picks a virtual host for a Host header value.
type Router struct {
	// Exact holds exact host names.
	Exact Table
	// Wildcard holds wildcard hosts by their suffix: "*.example.com" is
	// stored as "example.com".
	Wildcard Table
	// CatchAll is the value for "*", or -1.
	CatchAll int32
}

// Lookup returns the virtual host for a Host header (any case, with or
// without a port), or -1.
func (r *Router) Lookup(host string) int32 {
	host = stripPort(host)
	if v, ok := r.Exact.Lookup(host); ok {
		return v
	}
	for i := 1; i < len(host); i++ {
		if host[i] == '.' {
			if v, ok := r.Wildcard.Lookup(host[i+1:]); ok {
				return v
			}
		}
	}
	return r.CatchAll
}

func stripPort(h string) string {
	if len(h) > 0 && h[0] == '[' {
		for i := len(h) - 1; i > 0; i-- {
			if h[i] == ']' {
				return h[:i+1]
			}
		}
		return h
	}
	for i := len(h) - 1; i >= 0; i-- {
		switch {
		case h[i] == ':':
			return h[:i]
		case h[i] < '0' || h[i] > '9':
			return h
		}
	}
	return h
}
