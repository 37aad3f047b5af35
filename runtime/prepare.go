package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unsafe"
)

// pseudoHeader says which request field an HTTP/2-style ":name" header in a
// HeaderMatch reads; net/http keeps those fields outside the Header map.
type pseudoHeader uint8

const (
	notPseudo pseudoHeader = iota
	pseudoAuthority
	pseudoMethod
	pseudoPath
	pseudoScheme
	// pseudoClaim is a JWT claim (@request.auth.claims.a.b), read from the
	// request's Identity; key holds the claim names separated by NUL.
	pseudoClaim
)

// Prepare checks cfg and compiles what matching needs: regexes (anchored for
// RE2 full-match, as Envoy's safe_regex; parsed here, so a bad one is
// reported, and compiled on first use, see lazyregex.go), header names in
// the form net/http stores them, cumulative route weights, route indexes.
// A configuration marked Generated has its virtual hosts prepared on first
// use instead (lazyprep.go); gwc build ran all of Prepare on it.
// It is idempotent. Generated configs
// always pass; an error means a generator bug or a hand-written config, and
// lists every problem found.
func (cfg *Config) Prepare() error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if cfg == nil {
		return errors.New("no configuration")
	}
	type bindKey struct {
		bind string
		port int
	}
	seen := map[bindKey]bool{}
	regexes := regexCache{}
	for li := range cfg.Listeners {
		l := &cfg.Listeners[li]
		where := listenerWhere(li, l)
		if l.Port < 1 || l.Port > 65535 {
			fail("%s: port out of range 1-65535", where)
		}
		switch {
		case strings.EqualFold(l.Protocol, "HTTPS"):
			for _, err := range l.prepareTLS(len(cfg.Clusters)) {
				fail("%s: %w", where, err)
			}
			for _, err := range l.prepareL4(len(cfg.Clusters)) {
				fail("%s: %w", where, err)
			}
		case strings.EqualFold(l.Protocol, "TCP") || strings.EqualFold(l.Protocol, "TLS"):
			for _, err := range l.prepareL4(len(cfg.Clusters)) {
				fail("%s: %w", where, err)
			}
		case !plaintextHTTP(l.Protocol):
			fail("%s: protocol %q is not supported by this runtime (want HTTP, HTTP2, GRPC, GRPC-WEB or HTTPS)", where, l.Protocol)
		case len(l.TLS) > 0:
			fail("%s: protocol %s has TLS servers", where, l.Protocol)
		}
		k := bindKey{l.Bind, l.Port}
		if seen[k] {
			fail("%s: another listener has the same bind address and port", where)
		}
		seen[k] = true
		if c := l.Hosts.CatchAll; c < -1 || int(c) >= len(l.VirtualHosts) {
			fail("%s: catch-all virtual host %d out of range (have %d)", where, c, len(l.VirtualHosts))
		}
		if cfg.Generated {
			// gwc build ran the whole of Prepare on these tables: the
			// virtual hosts are prepared on first use (lazyprep.go).
			l.lazy = newLazyHosts(len(l.VirtualHosts), len(cfg.Clusters), where)
			continue
		}
		if l.lazy != nil {
			l.lazy = nil
		}
		for vi := range l.VirtualHosts {
			for _, err := range l.VirtualHosts[vi].prepare(len(cfg.Clusters), regexes) {
				fail("%s: %w", where, err)
			}
		}
	}
	for li := range cfg.Listeners {
		for vi := range cfg.Listeners[li].VirtualHosts {
			if rl := cfg.Listeners[li].VirtualHosts[vi].RateLimit; rl != nil && rl.check() != nil {
				fail("%s: virtual host %q: rate limit %d per %s, burst %d: %w", listenerWhere(li, &cfg.Listeners[li]),
					cfg.Listeners[li].VirtualHosts[vi].Domain, rl.Requests, rl.Interval, rl.Burst, errBadRateLimit)
			}
		}
	}
	if cfg.Authz != nil {
		if err := cfg.Authz.check(); err != nil {
			fail("%w", err)
		}
		if len(cfg.Authz.Custom) > 0 && cfg.ExtAuthz == nil {
			// A CUSTOM rule with nobody to ask would let its requests through.
			fail("CUSTOM authorization rules without an external authorizer")
		}
	}
	for ci := range cfg.Clusters {
		c := &cfg.Clusters[ci]
		if err := c.Policy.check(); err != nil {
			fail("cluster %q: policy: %w", c.Name, err)
		}
		for ei, ep := range c.Endpoints {
			if err := checkEndpoint(c.Resolve, ep.Address); err != nil {
				fail("cluster %q: endpoint %d: %w", c.Name, ei, err)
			}
		}
	}
	return errors.Join(errs...)
}

// listenerWhere names listener li in Prepare's errors.
func listenerWhere(li int, l *Listener) string {
	return fmt.Sprintf("listener %d (port %d)", li, l.Port)
}

// plaintextHTTP reports whether a Gateway port protocol is served as
// cleartext HTTP (HTTP/1.1 and h2c, as Envoy's AUTO codec).
func plaintextHTTP(p string) bool {
	switch strings.ToUpper(p) {
	case "HTTP", "HTTP2", "GRPC", "GRPC-WEB":
		return true
	}
	return false
}

// prepare checks and compiles the routes of vh and builds its route index,
// returning every problem found, each naming the virtual host and route.
func (vh *VirtualHost) prepare(nclusters int, regexes regexCache) []error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	for ri := range vh.Routes {
		r := &vh.Routes[ri]
		// Formatted only on failure: for every route it was a quarter of
		// the start-up time with 10,000 hosts.
		rwhere := func() string {
			return fmt.Sprintf("virtual host %q: route %d %q", vh.Domain, ri, r.ID)
		}
		for mi := range r.Matches {
			if err := r.Matches[mi].prepare(regexes); err != nil {
				fail("%s: match %d: %w", rwhere(), mi, err)
			}
		}
		if err := r.prepareWeights(nclusters); err != nil {
			fail("%s: %w", rwhere(), err)
		}
		for _, m := range r.Mirrors {
			if m.Cluster < 0 || m.Cluster >= nclusters {
				fail("%s: mirror cluster index %d out of range (have %d)", rwhere(), m.Cluster, nclusters)
			}
		}
		if err := r.prepareActions(); err != nil {
			fail("%s: %w", rwhere(), err)
		}
		if err := r.prepareCompression(); err != nil {
			fail("%s: %w", rwhere(), err)
		}
	}
	vh.buildIndex() // after the matches: it reads their regex prefixes
	return errs
}

func (m *Match) prepare(rc regexCache) error {
	var errs []error
	if err := m.Path.prepareWith(rc); err != nil {
		errs = append(errs, fmt.Errorf("path: %w", err))
	}
	if err := m.Method.prepareWith(rc); err != nil {
		errs = append(errs, fmt.Errorf("method: %w", err))
	}
	for hi := range m.Headers {
		h := &m.Headers[hi]
		if err := h.prepare(rc); err != nil {
			errs = append(errs, fmt.Errorf("header %q: %w", h.Name, err))
		}
	}
	if err := m.prepareMore(rc); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (h *HeaderMatch) prepare(rc regexCache) error {
	if names, ok := claimNames(h.Name); ok {
		setIfChanged(&h.pseudo, pseudoClaim)
		setIfChanged(&h.key, strings.Join(names, "\x00"))
		return h.Match.prepareWith(rc)
	}
	name := strings.ToLower(h.Name)
	if name == "" {
		return errors.New("empty header name")
	}
	pseudo, key := notPseudo, ""
	switch name {
	case ":authority", "host":
		pseudo = pseudoAuthority
	case ":method":
		pseudo = pseudoMethod
	case ":path":
		pseudo = pseudoPath
	case ":scheme":
		pseudo = pseudoScheme
	default:
		if name[0] == ':' {
			return errors.New("unknown pseudo-header")
		}
		key = http.CanonicalHeaderKey(name)
	}
	setIfChanged(&h.Name, name)
	setIfChanged(&h.pseudo, pseudo)
	setIfChanged(&h.key, key)
	return h.Match.prepareWith(rc)
}

// prepare is prepareWith sharing no regex with other matches.
func (s *StringMatch) prepare() error {
	return s.prepareWith(nil)
}

// prepareWith checks s and registers a regex, through rc; the match links
// its cell on first use (see lazyregex.go).
func (s *StringMatch) prepareWith(rc regexCache) error {
	switch s.Kind {
	case MatchAny, MatchExact, MatchPrefix:
		setIfChanged(&s.lazy, nil)
		return nil
	case MatchRegex:
		l, err := rc.anchored(s.Value)
		if p := s.lazy; p != nil && p != unsafe.Pointer(l) {
			s.lazy = nil // linked before, to another source
		}
		return err
	}
	setIfChanged(&s.lazy, nil)
	return fmt.Errorf("unknown match kind %d", s.Kind)
}

func (r *Route) prepareWeights(nclusters int) error {
	if len(r.Clusters) <= 1 {
		// The pick needs no weights (see pick): nothing to allocate or to
		// write into the configuration (see setIfChanged).
		for _, wc := range r.Clusters {
			if wc.Cluster < 0 || wc.Cluster >= nclusters {
				return fmt.Errorf("destination 0: cluster index %d out of range (have %d)", wc.Cluster, nclusters)
			}
		}
		if r.cumWeights != nil {
			r.cumWeights = nil
		}
		return nil
	}
	r.cumWeights = r.cumWeights[:0]
	var total uint64
	for i, wc := range r.Clusters {
		if wc.Cluster < 0 || wc.Cluster >= nclusters {
			return fmt.Errorf("destination %d: cluster index %d out of range (have %d)", i, wc.Cluster, nclusters)
		}
		total += uint64(wc.Weight)
		if total > 1<<32-1 {
			return errors.New("weights sum past 2^32-1")
		}
		r.cumWeights = append(r.cumWeights, uint32(total))
	}
	if total == 0 && len(r.Clusters) > 1 {
		return errors.New("weights sum to 0")
	}
	return nil
}

func checkEndpoint(resolve bool, addr string) error {
	if !resolve {
		if _, err := netip.ParseAddrPort(addr); err != nil {
			return fmt.Errorf("address %q is not IP:port: %w", addr, err)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port out of range 1-65535", addr)
	}
	return nil
}

// prepareMore compiles the match conditions beyond path, method and
// headers.
func (m *Match) prepareMore(rc regexCache) error {
	var errs []error
	for hi := range m.WithoutHeaders {
		h := &m.WithoutHeaders[hi]
		if err := h.prepare(rc); err != nil {
			errs = append(errs, fmt.Errorf("without header %q: %w", h.Name, err))
		}
	}
	for qi := range m.Query {
		q := &m.Query[qi]
		if q.Name == "" {
			errs = append(errs, errors.New("empty query parameter name"))
		}
		if err := q.Match.prepareWith(rc); err != nil {
			errs = append(errs, fmt.Errorf("query parameter %q: %w", q.Name, err))
		}
	}
	if m.IgnoreCase && (m.Path.Kind == MatchExact || m.Path.Kind == MatchPrefix) {
		setIfChanged(&m.Path.Value, strings.ToLower(m.Path.Value))
	}
	return errors.Join(errs...)
}

// prepareActions checks and compiles the route's actions.
func (r *Route) prepareActions() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	n := 0
	if len(r.Clusters) > 0 {
		n++
	}
	if r.Redirect != nil {
		n++
		switch r.Redirect.Code {
		case 301, 302, 303, 307, 308:
		default:
			fail("redirect code %d is not 301, 302, 303, 307 or 308", r.Redirect.Code)
		}
	}
	if r.DirectResponse != nil {
		n++
		if s := r.DirectResponse.Status; s < 200 || s > 599 {
			fail("direct response status %d out of range 200-599", s)
		}
	}
	if n > 1 {
		fail("a route forwards, redirects or answers directly: only one")
	}
	if rw := r.Rewrite; rw != nil {
		rw.re, rw.template = nil, ""
		if rw.RegexMatch != "" {
			re, err := regexp.Compile(rw.RegexMatch)
			if err != nil {
				fail("compiling rewrite regex %q: %w", rw.RegexMatch, err)
			} else {
				rw.re, rw.template = re, expandTemplate(rw.RegexSubst)
			}
		}
	}
	r.RequestHeaders.prepare()
	r.ResponseHeaders.prepare()
	for i := range r.Clusters {
		r.Clusters[i].RequestHeaders.prepare()
		r.Clusters[i].ResponseHeaders.prepare()
	}
	if r.Timeout < 0 {
		fail("negative timeout")
	}
	if r.CORS != nil {
		if err := r.CORS.prepare(); err != nil {
			fail("cors: %w", err)
		}
	}
	for i, m := range r.Mirrors {
		if m.Percent < 0 || m.Percent > 100 {
			fail("mirror %d: percentage %v outside 0-100", i, m.Percent)
		}
	}
	if f := r.Fault; f != nil {
		if f.DelayPercent < 0 || f.DelayPercent > 100 || f.AbortPercent < 0 || f.AbortPercent > 100 {
			fail("fault percentage outside 0-100")
		}
	}
	if r.Retry != nil {
		if err := r.Retry.prepare(); err != nil {
			fail("retry policy: %w", err)
		}
	}
	return errors.Join(errs...)
}

func (o *HeaderOps) prepare() {
	if len(o.Remove) == 0 {
		// Most routes and destinations have no operations: no write (see
		// setIfChanged).
		if o.removeKeys != nil {
			o.removeKeys = nil
		}
	} else {
		o.removeKeys = o.removeKeys[:0]
		for _, n := range o.Remove {
			o.removeKeys = append(o.removeKeys, http.CanonicalHeaderKey(n))
		}
	}
	for _, hs := range [][]HeaderValue{o.Set, o.Add} {
		for i := range hs {
			hs[i].key = http.CanonicalHeaderKey(hs[i].Name)
			hs[i].values = []string{hs[i].Value}
		}
	}
}

// expandTemplate turns an RE2 substitution with \N references into
// regexp.Expand's ${N} form, "$" written literally.
func expandTemplate(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${")
			b.WriteByte(s[i+1])
			b.WriteByte('}')
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// The generated Config is a Go literal: the linker places it in the
// binary's data segment, mapped from the file. A page of it that the
// process only reads stays a clean, shared page of the file; the first
// write to a page copies it (a copy-on-write fault) into private memory.
// Prepare reads every route at start-up, and with 10,000 hosts the
// literal is tens of MiB, so Prepare writes only what it changes: most
// fields it derives (a route's header keys, a match's regex cell) are
// empty or already right, and writing them anyway cost a page fault and
// a page copy per few routes.

// setIfChanged stores v in *p unless *p already holds it.
func setIfChanged[T comparable](p *T, v T) {
	if *p != v {
		*p = v
	}
}
