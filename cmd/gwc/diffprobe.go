package main

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"

	"github.com/gwc-dev/gwc/runtime"
)

// The concrete requests `gwc diff` runs through both configurations,
// generated from the matchers of both: for every route of a host, one
// request per match meeting all its conditions (exact values, a prefix
// and a path under it, a string a regex accepts), the same request
// without its header, query and method conditions (to see what it falls
// through to), and a request for "/" and for a path no rule names.

// probe is one generated request with the listener port it arrives on.
type probe struct {
	req  testRequest
	port int
}

func (p probe) key() string { return describeTestRequest(p.req) }

// probeHost is a name a virtual host domain answers: the domain itself,
// or a name under a wildcard.
func probeHost(domain string) string {
	switch {
	case domain == "*":
		return "gwc-diff.invalid"
	case strings.HasPrefix(domain, "*."):
		return "gwc-diff" + domain[1:]
	case strings.HasPrefix(domain, "*"):
		return "gwc-diff" + domain[1:]
	}
	return domain
}

// probes returns the requests for every listener of both configurations,
// in a deterministic order, each once. For each host they are every path
// sample of every match of both configurations crossed with every set of
// other conditions (method, headers, query) of every match, and with
// none: so that a request a new rule takes from an old one is among them
// whichever conditions the two rules test.
func probes(configs ...*runtime.Config) []probe {
	type hostKey struct {
		port           int
		scheme, domain string
	}
	type hostProbes struct {
		paths []string
		conds []testRequest // method, headers, query only
		own   []testRequest // the requests of each match, path and conditions together
	}
	hosts := map[hostKey]*hostProbes{}
	var order []hostKey
	var out []probe
	seen := map[string]bool{}
	add := func(p probe) {
		k := p.key()
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	for _, rc := range configs {
		for li := range rc.Listeners {
			l := &rc.Listeners[li]
			scheme := "http"
			if len(l.TLS) > 0 {
				scheme = "https"
			}
			for ri := range l.L4 {
				r := &l.L4[ri]
				if len(r.SNI) == 0 {
					add(probe{testRequest{Scheme: "tcp", Port: l.Port}, l.Port})
				}
				for _, sni := range r.SNI {
					add(probe{testRequest{Scheme: "tls", SNI: probeHost(sni), Port: l.Port}, l.Port})
				}
			}
			for vi := range l.VirtualHosts {
				vh := &l.VirtualHosts[vi]
				k := hostKey{l.Port, scheme, vh.Domain}
				h := hosts[k]
				if h == nil {
					h = &hostProbes{paths: []string{"/", "/gwc-diff-probe"}, conds: []testRequest{{}}}
					hosts[k] = h
					order = append(order, k)
				}
				for ri := range vh.Routes {
					for _, r := range matchRequests(testRequest{}, &vh.Routes[ri]) {
						h.own = append(h.own, r)
						if !slices.Contains(h.paths, r.Path) {
							h.paths = append(h.paths, r.Path)
						}
						r.Path = ""
						if !slices.ContainsFunc(h.conds, func(c testRequest) bool { return describeTestRequest(c) == describeTestRequest(r) }) {
							h.conds = append(h.conds, r)
						}
					}
				}
			}
		}
	}
	for _, k := range order {
		h := hosts[k]
		at := func(r testRequest) probe {
			r.Scheme, r.Authority, r.Port = k.scheme, probeHost(k.domain), k.port
			return probe{r, k.port}
		}
		for _, r := range h.own {
			add(at(r))
		}
		conds := combine(h.conds)
		if len(h.paths)*len(conds) > maxProbesPerHost {
			conds = []testRequest{{}}
		}
		for _, path := range h.paths {
			for _, c := range conds {
				c.Path = path
				add(at(c))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b probe) int {
		if a.port != b.port {
			return a.port - b.port
		}
		return strings.Compare(a.req.Authority+a.req.SNI, b.req.Authority+b.req.SNI)
	})
	return out
}

// combine returns every combination of the conditions' values: each
// method or none, each header's values or its absence, each query
// parameter's values or its absence; so that a request with the method of
// one rule and the header of another is among the probes.
func combine(conds []testRequest) []testRequest {
	methods := []string{""}
	headers, query := map[string][]string{}, map[string][]string{}
	for _, c := range conds {
		if c.Method != "" && !slices.Contains(methods, c.Method) {
			methods = append(methods, c.Method)
		}
		for k, v := range c.Headers {
			if !slices.Contains(headers[k], v) {
				headers[k] = append(headers[k], v)
			}
		}
		for k, v := range c.Query {
			if !slices.Contains(query[k], v) {
				query[k] = append(query[k], v)
			}
		}
	}
	out := []testRequest{}
	for _, m := range methods {
		out = append(out, testRequest{Method: m})
	}
	expand := func(values map[string][]string, field func(*testRequest) *map[string]string) {
		for _, k := range sortedKeys(values) {
			var next []testRequest
			for _, r := range out {
				next = append(next, r) // without k
				for _, v := range values[k] {
					c := r
					m := map[string]string{}
					for kk, vv := range *field(&c) {
						m[kk] = vv
					}
					m[k] = v
					*field(&c) = m
					next = append(next, c)
				}
			}
			out = next
			if len(out) > maxProbesPerHost {
				return
			}
		}
	}
	expand(headers, func(r *testRequest) *map[string]string { return &r.Headers })
	expand(query, func(r *testRequest) *map[string]string { return &r.Query })
	return out
}

// maxProbesPerHost bounds the cross product for one host; beyond it each
// path goes with no conditions and with its own match's only (a host of
// hundreds of routes, or of many header conditions).
const maxProbesPerHost = 4096

// matchRequests returns requests a route's matches accept, and the same
// with their conditions beyond the path dropped.
func matchRequests(base testRequest, rt *runtime.Route) []testRequest {
	if len(rt.Matches) == 0 {
		r := base
		r.Path = "/"
		return []testRequest{r}
	}
	var out []testRequest
	for mi := range rt.Matches {
		m := &rt.Matches[mi]
		for _, path := range pathSamples(m.Path) {
			plain := base
			plain.Path = path
			r := plain
			if m.Method.Kind != runtime.MatchAny {
				r.Method = sample(m.Method)
			}
			for _, h := range m.Headers {
				if strings.HasPrefix(h.Name, ":") {
					continue // pseudo-headers are the request's own fields
				}
				if r.Headers == nil {
					r.Headers = map[string]string{}
				}
				r.Headers[h.Name] = sample(h.Match)
			}
			for _, q := range m.Query {
				if r.Query == nil {
					r.Query = map[string]string{}
				}
				r.Query[q.Name] = sample(q.Match)
			}
			out = append(out, r, plain)
		}
	}
	return out
}

// pathSamples are paths a path condition accepts: an exact path; a
// prefix and a path under it.
func pathSamples(m runtime.StringMatch) []string {
	switch m.Kind {
	case runtime.MatchExact:
		return []string{m.Value}
	case runtime.MatchPrefix:
		under := strings.TrimSuffix(m.Value, "/") + "/gwc-diff"
		if m.Value == "/" {
			return []string{"/"}
		}
		return []string{m.Value, under}
	case runtime.MatchRegex:
		s := sample(m)
		if !strings.HasPrefix(s, "/") {
			s = "/" + s
		}
		return []string{s}
	}
	return []string{"/"}
}

// sample returns a value the condition accepts: the exact value, the
// prefix, a string the regex matches, "1" for presence.
func sample(m runtime.StringMatch) string {
	switch m.Kind {
	case runtime.MatchExact, runtime.MatchPrefix:
		return m.Value
	case runtime.MatchRegex:
		re, err := syntax.Parse(m.Value, syntax.Perl)
		if err != nil {
			return ""
		}
		var b strings.Builder
		regexSample(&b, re.Simplify())
		return b.String()
	}
	return "1"
}

// regexSample writes a shortest-ish string re matches: the first branch
// of alternations, the fewest repetitions, the first rune of a class
// (a printable one when the class has it).
func regexSample(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		b.WriteRune(classRune(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture, syntax.OpPlus:
		regexSample(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			regexSample(b, re.Sub[0])
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			regexSample(b, s)
		}
	case syntax.OpAlternate:
		regexSample(b, re.Sub[0])
	}
}

func classRune(ranges []rune) rune {
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < ranges[i]+128; r++ {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '/' || r == '-' {
				return r
			}
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}
