package hosttable

// Router picks a virtual host for a Host header value.
type Router struct {
	// Exact holds exact host names.
	Exact Table
	// Wildcard holds wildcard hosts by their suffix: "*.example.com" is
	// stored as "example.com".
	Wildcard Table
	// CatchAll is the value for "*", or -1.
	CatchAll int32
	// SuffixLengths has bit n set when a wildcard suffix is n bytes long
	// (n < 256; a longer Host suffix is always looked up), so a Host's
	// suffixes of other lengths cost no hash. All zero means unknown:
	// every suffix is looked up.
	SuffixLengths [4]uint64
}

// SuffixLengthsOf returns the SuffixLengths bits of a set of wildcard
// suffixes.
func SuffixLengthsOf(suffixes []string) [4]uint64 {
	var m [4]uint64
	for _, s := range suffixes {
		if n := len(s); n < 256 {
			m[n>>6] |= 1 << (n & 63)
		}
	}
	return m
}

// Lookup returns the virtual host for a Host header (any case, with or
// without a port), or -1: an exact host first, then the wildcard host with
// the longest suffix, then the catch-all.
func (r *Router) Lookup(host string) int32 {
	host = stripPort(host)
	if v, ok := r.Exact.Lookup(host); ok {
		return v
	}
	if len(r.Wildcard.Keys) > 0 {
		known := r.SuffixLengths != [4]uint64{}
		// "*.example.com" matches "a.example.com" and "a.b.example.com" but
		// not "example.com": the "*" covers at least one byte, so the dot
		// at index 0 does not count. The first dot gives the longest
		// suffix, so the first match wins.
		for i := 1; i < len(host); i++ {
			if host[i] != '.' {
				continue
			}
			if n := len(host) - i - 1; known && n < 256 && r.SuffixLengths[n>>6]&(1<<(n&63)) == 0 {
				continue
			}
			if v, ok := r.Wildcard.Lookup(host[i+1:]); ok {
				return v
			}
		}
	}
	return r.CatchAll
}

// stripPort removes a ":port" suffix (digits, possibly none) from a Host
// header value: "a.com:80" -> "a.com", "[::1]:80" -> "[::1]". Anything else
// is returned as it is, to match no host. It never allocates.
func stripPort(h string) string {
	i := len(h) - 1
	for i >= 0 && '0' <= h[i] && h[i] <= '9' {
		i--
	}
	if i < 0 || h[i] != ':' {
		return h
	}
	// In an IPv6 literal the colons inside the brackets are not a port:
	// "[::1]:80" ends the address at "]:", while "[::1" has no port.
	if h[0] == '[' && (i == 0 || h[i-1] != ']') {
		return h
	}
	return h[:i]
}
