package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

// route is an ir.Route whose destinations still name clusters; indexes
// are assigned once every cluster is known.
type route struct {
	ir.Route
	dests   []pendingDest
	mirrors []pendingMirror
}

type pendingDest struct {
	cluster string
	weight  int
	// index is the destination's place in the rule's route list.
	index int
	// reqOps and respOps are its header operations.
	reqOps, respOps ir.HeaderOps
	authority       string
}

// routes builds a vhost's route list in the order the binary tries it,
// following istiod: VirtualServices in binding order (creationTimestamp,
// then name, then namespace: load.CompareCreation), each rule's matches in order
// as separate routes, matches for other ports or gateways dropped, a
// VirtualService's list ending at its first catch-all, and every catch-all
// moved after the specific routes (SortVHostRoutes).
func (c *compilation) routes(l *listener, v *vhost) []route {
	var specific, catchAll []route
	var catchAllFrom *virtualService
	for _, b := range v.bindings {
		vs := b.vs
	rules:
		for _, ref := range c.rulesOf(vs) {
			rule, i, own := ref.rule, ref.index, ref.vs
			hasMatch := len(own.Spec.HTTP[i].Match) > 0
			matches := rule.Match
			if len(matches) == 0 {
				matches = []httpMatch{{}}
			}
			dests := c.destinations(own, i, rule, l.key.Port)
			mirrors := c.mirrors(own, i, rule, l.key.Port)
			for k := range dests {
				if h := rule.Route[dests[k].index].Headers; h != nil {
					dests[k].reqOps, dests[k].authority = lowerOps(h.Request, true)
					dests[k].respOps, _ = lowerOps(h.Response, false)
				}
			}
			// Only a lone destination with operations of its own needs
			// the route to say their order.
			lone := len(rule.Route) == 1 && len(dests) == 1 && !(dests[0].reqOps.Empty() && dests[0].respOps.Empty())
			for j, m := range matches {
				if m.Port != 0 && m.Port != l.key.Port {
					continue
				}
				if len(m.Gateways) > 0 && !slices.ContainsFunc(m.Gateways, func(ref string) bool {
					return slices.Contains(b.gateways, names.GatewayRef(ref, vs.Namespace))
				}) {
					continue
				}
				jo := j
				if ref.matchOrigin != nil {
					jo = ref.matchOrigin[j]
				}
				r := route{Route: ir.Route{Name: rule.Name, Origin: ruleOrigin(own, i, jo, hasMatch)}, dests: dests, mirrors: mirrors}
				r.Compression = routeAnnotation(c, vs, b.gateways, c.compressionOf)
				r.MaxRequestBytes = routeAnnotation(c, vs, b.gateways, c.maxRequestBodyOf)
				if len(rule.Match) > 0 {
					r.Matches = []ir.Match{lowerMatch(m)}
					applyActions(&r.Route, rule, &rule.Match[j], l.key.Port)
				} else {
					applyActions(&r.Route, rule, nil, l.key.Port)
				}
				if lone {
					r.DestinationHeadersLast = true
					r.RequestHeaders.Remove = mergeRemovals(r.RequestHeaders.Remove, dests[0].reqOps.Remove)
					r.ResponseHeaders.Remove = mergeRemovals(r.ResponseHeaders.Remove, dests[0].respOps.Remove)
				}
				if isCatchAll(m) {
					if catchAllFrom != nil && catchAllFrom != vs {
						c.warnc(codeUnreachable, own.Resource, "spec."+r.Origin.Field, "narrow its match, or give the VirtualServices one owner of the catch-all",
							"catch-all rule shadowed on %s port %d: VirtualService %s/%s, merged before this one (merged in istiod's order: creationTimestamp, then name, then namespace), already matches every request",
							v.domain, l.key.Port, catchAllFrom.Namespace, catchAllFrom.Name)
					}
					if catchAllFrom == nil {
						catchAllFrom = vs
					}
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
	if m.Method != nil || m.Authority != nil || m.Scheme != nil || len(m.Headers) > 0 ||
		len(m.WithoutHeaders) > 0 || len(m.QueryParams) > 0 {
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
		out.Headers = append(out.Headers, ir.HeaderMatch{Name: headerMatchName(name), Match: lowerString(&sm)})
	}
	slices.SortStableFunc(out.Headers, func(a, b ir.HeaderMatch) int { return strings.Compare(a.Name, b.Name) })
	out.Name, out.IgnoreURICase = m.Name, m.IgnoreURICase
	for _, name := range sortedKeys(m.WithoutHeaders) {
		sm := m.WithoutHeaders[name]
		out.WithoutHeaders = append(out.WithoutHeaders, ir.HeaderMatch{Name: headerMatchName(name), Match: lowerString(&sm)})
	}
	for _, name := range sortedKeys(m.QueryParams) {
		sm := m.QueryParams[name]
		out.Query = append(out.Query, ir.QueryMatch{Name: name, Match: lowerString(&sm)})
	}
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
