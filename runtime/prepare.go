package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
