package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// route is an ir.Route whose destinations still name clusters; indexes
// are assigned once every cluster is known.
type route struct {
	ir.Route
	dests []pendingDest
}

type pendingDest struct {
	cluster string
	weight  int
}

// routes builds a vhost's route list in the order the binary tries it,
// following istiod: VirtualServices in binding order (namespace, then
// name, since files have no creation time), each rule's matches in order
// as separate routes, matches for other ports or gateways dropped, a
// VirtualService's list ending at its first catch-all, and every catch-all
// moved after the specific routes (SortVHostRoutes).
func (c *compilation) routes(l *listener, v *vhost) []route {
	var specific, catchAll []route
	for _, b := range v.bindings {
		vs := b.vs
	rules:
		for i, rule := range vs.Spec.HTTP {
			matches := rule.Match
			if len(matches) == 0 {
				matches = []httpMatch{{}}
			}
			dests := c.destinations(vs, i, rule, l.key.Port)
			for j, m := range matches {
				if m.Port != 0 && m.Port != l.key.Port {
					continue
				}
				if len(m.Gateways) > 0 && !slices.ContainsFunc(m.Gateways, func(ref string) bool {
					return slices.Contains(b.gateways, gatewayRef(ref, vs.Namespace))
				}) {
					continue
				}
				r := route{Route: ir.Route{Name: rule.Name, Origin: ruleOrigin(vs, i, j, len(rule.Match) > 0)}, dests: dests}
				r.Compression = c.routeCompression(vs, b.gateways)
				if len(rule.Match) > 0 {
					r.Matches = []ir.Match{lowerMatch(m)}
				}
				if isCatchAll(m) {
					catchAll = append(catchAll, r)
					break rules
				}
				specific = append(specific, r)
			}
		}
	}
	return append(specific, catchAll...)
}

func ruleOrigin(vs *virtualService, rule, match int, hasMatch bool) ir.Origin {
	path := fmt.Sprintf("spec.http[%d]", rule)
	field := fmt.Sprintf("http[%d]", rule)
	if hasMatch {
		path += fmt.Sprintf(".match[%d]", match)
		field += fmt.Sprintf(".match[%d]", match)
	}
	return ir.Origin{Pos: vs.PosOf(path), Resource: vs.Namespace + "/" + vs.Name, Field: field}
}

// isCatchAll reports whether a match accepts every request, as istiod's
// catch-all test does: no uri condition, or prefix "/" or regex ".*", and
// no other runtime condition.
func isCatchAll(m httpMatch) bool {
	if m.Method != nil || m.Authority != nil || m.Scheme != nil || len(m.Headers) > 0 {
		return false
	}
	u := m.URI
	return u == nil || (u.Prefix != nil && *u.Prefix == "/") || (u.Regex != nil && (*u.Regex == ".*" || *u.Regex == "*"))
}

func lowerMatch(m httpMatch) ir.Match {
	out := ir.Match{URI: lowerString(m.URI), Method: lowerString(m.Method)}
	if m.Authority != nil {
		out.Headers = append(out.Headers, ir.HeaderMatch{Name: ":authority", Match: lowerString(m.Authority)})
	}
	if m.Scheme != nil {
		out.Headers = append(out.Headers, ir.HeaderMatch{Name: ":scheme", Match: lowerString(m.Scheme)})
	}
	for _, name := range sortedKeys(m.Headers) {
		sm := m.Headers[name]
		out.Headers = append(out.Headers, ir.HeaderMatch{Name: strings.ToLower(name), Match: lowerString(&sm)})
	}
	slices.SortStableFunc(out.Headers, func(a, b ir.HeaderMatch) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// lowerString turns a StringMatch into the IR form. An empty StringMatch,
// or the regex "*", means "present" for headers: Kind "present".
func lowerString(s *stringMatch) ir.StringMatch {
	switch {
	case s == nil:
		return ir.StringMatch{}
	case s.Exact != nil:
		return ir.StringMatch{Kind: "exact", Value: *s.Exact}
	case s.Prefix != nil:
		return ir.StringMatch{Kind: "prefix", Value: *s.Prefix}
	case s.Regex != nil && *s.Regex != "*":
		return ir.StringMatch{Kind: "regex", Value: *s.Regex}
	}
	return ir.StringMatch{Kind: "present"}
}
