package analyze

import (
	"fmt"
	"regexp"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
	"github.com/gwc-dev/gwc/compiler/names"
)

// virtualService checks the rules of Istio's ValidateVirtualService and
// validateHTTPRoute that the schema cannot express.
func (r *reporter) virtualService(res *load.Resource, spec any) {
	s, _ := spec.(map[string]any)
	hosts := strs(s["hosts"])
	gateways := strs(s["gateways"])
	bad := func(path, hint, msg string) { r.report(diag.Error, diag.CodeValidation, res, path, hint, msg) }

	// Hosts: no duplicates or overlaps in one VirtualService, no "*"
	// for the mesh.
	for i := range hosts {
		for j := i + 1; j < len(hosts); j++ {
			a, b := names.FQDN(hosts[i], res.Namespace), names.FQDN(hosts[j], res.Namespace)
			if names.Covers(a, b) || names.Covers(b, a) {
				bad(fmt.Sprintf("spec.hosts[%d]", j), "remove one of the two", fmt.Sprintf("duplicate hosts in virtual service: %s & %s", hosts[i], hosts[j]))
			}
		}
	}
	mesh := len(gateways) == 0
	for _, g := range gateways {
		mesh = mesh || g == "mesh"
	}
	for i, h := range hosts {
		if h == "*" && mesh {
			bad(fmt.Sprintf("spec.hosts[%d]", i), "name the hosts, or bind the VirtualService to a Gateway with gateways: [...]",
				"wildcard host * is not allowed for virtual services bound to the mesh gateway")
		}
	}
	_, hasHTTP := s["http"]
	_, hasTCP := s["tcp"]
	_, hasTLS := s["tls"]
	if !hasHTTP && !hasTCP && !hasTLS {
		bad("spec", "add http routes", "http, tcp or tls must be provided in virtual service")
	}

	rules, _ := s["http"].([]any)
	for i, rv := range rules {
		rule, _ := rv.(map[string]any)
		path := fmt.Sprintf("spec.http[%d]", i)
		has := func(k string) bool { _, ok := rule[k]; return ok }
		if !has("route") && !has("redirect") && !has("directResponse") && !has("delegate") {
			bad(path, "add route: [{destination: {host: ...}}], a redirect or a directResponse", "HTTP route, redirect or direct response is required")
		}
		for _, action := range []string{"redirect", "directResponse"} {
			for _, other := range []string{"fault", "rewrite"} {
				if has(action) && has(other) {
					bad(path+"."+other, "remove "+other+": it has no effect with "+action, fmt.Sprintf("HTTP route cannot contain both %s and %s", action, other))
				}
			}
		}
		if has("delegate") {
			// A root rule only delegates (Istio's validateHTTPRouteConflict).
			for _, k := range []string{"route", "redirect"} {
				if has(k) {
					bad(path+"."+k, "remove "+k+": the delegate's rules act", fmt.Sprintf("root HTTP route must not specify %s", k))
				}
			}
			if len(hosts) == 0 {
				bad(path+".delegate", "delegate only from a root VirtualService (one with hosts)", "delegate HTTP route cannot contain delegate")
			}
		}
		if rw, _ := rule["rewrite"].(map[string]any); rw != nil {
			if rr, ok := rw["uriRegexRewrite"].(map[string]any); ok {
				if m, _ := rr["match"].(string); m == "" {
					bad(path+".rewrite.uriRegexRewrite", "give both match and rewrite", "UriRegexRewrite requires both Rewrite and Match fields to be specified")
				} else if w, _ := rr["rewrite"].(string); w == "" {
					bad(path+".rewrite.uriRegexRewrite", "give both match and rewrite", "UriRegexRewrite requires both Rewrite and Match fields to be specified")
				}
			}
		}
		if cors, _ := rule["corsPolicy"].(map[string]any); cors != nil {
			for _, k := range []string{"allowHeaders", "exposeHeaders"} {
				for j, name := range strs(cors[k]) {
					if name == "" {
						bad(fmt.Sprintf("%s.corsPolicy.%s[%d]", path, k, j), "name a header", "header name cannot be empty")
					} else if name != "*" && !validHeaderName.MatchString(name) {
						bad(fmt.Sprintf("%s.corsPolicy.%s[%d]", path, k, j), "header names are RFC 7230 tokens (letters, digits and !#$%&'*+-.^_`|~), or *",
							fmt.Sprintf("header name %s is not a valid header name", name))
					}
				}
			}
		}
		if route, _ := rule["route"].([]any); len(route) > 1 {
			total := 0.0
			for _, d := range route {
				dm, _ := d.(map[string]any)
				w, _ := dm["weight"].(float64)
				total += w
			}
			if total == 0 {
				// The compiler reports this too, in the same words; vet
				// drops the copy.
				r.report(diag.Error, diag.CodeValidation, res, path+".route", "give at least one destination a positive weight", "the weights of the destinations total 0")
			}
		}
	}
	r.l4Rules(res, s)
}

var (
	label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// l4Rules are Istio's validateTCPRoute and validateTLSRoute: a rule needs
// a route; several destinations need a positive total weight; a TLS rule
// needs a match.
func (r *reporter) l4Rules(res *load.Resource, s map[string]any) {
	for _, kind := range []string{"tcp", "tls"} {
		rules, _ := s[kind].([]any)
		for i, rv := range rules {
			rule, _ := rv.(map[string]any)
			path := fmt.Sprintf("spec.%s[%d]", kind, i)
			if kind == "tls" {
				if m, _ := rule["match"].([]any); len(m) == 0 {
					r.bad(res, path, "add match: [{sniHosts: [...]}]", "TLS route must have at least one match condition")
				}
			}
			route, _ := rule["route"].([]any)
			if len(route) == 0 {
				// The compiler's words, so that vet shows one finding.
				r.bad(res, path, "add a route with a destination", "rule has no route")
				continue
			}
			total := 0.0
			for _, d := range route {
				dm, _ := d.(map[string]any)
				w, _ := dm["weight"].(float64)
				total += w
			}
			if len(route) > 1 && total == 0 {
				r.bad(res, path+".route", "give at least one destination a positive weight", "the weights of the destinations total 0")
			}
		}
	}
}
