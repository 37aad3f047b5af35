package analyze

import (
	"fmt"
	"regexp"
	"strings"

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
	for i, g := range gateways {
		if g == "mesh" {
			mesh = true
		} else if !validGatewayName(g) {
			bad(fmt.Sprintf("spec.gateways[%d]", i), "write name, namespace/name or mesh", fmt.Sprintf("invalid gateway name %q", g))
		}
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
}

var (
	label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// validGatewayName is Istio's validateGatewayNames: namespace/name with
// both DNS-1123 labels ("." for the namespace of the VirtualService is
// resolved by istiod), or a DNS-1123 subdomain.
func validGatewayName(g string) bool {
	if ns, name, ok := strings.Cut(g, "/"); ok {
		return (ns == "." || label.MatchString(ns)) && label.MatchString(name)
	}
	return len(g) <= 253 && subdomain.MatchString(g)
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
