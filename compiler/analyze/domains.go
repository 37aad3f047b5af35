package analyze

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/compiler/load"
)

// Host names as Istio's webhook judges them (pkg/config/validation/agent:
// ValidateFQDN, ValidateWildcardDomain, the gateway host rules). The CUE
// schema checks their shape; these are the rules a regular expression
// cannot say: the last label is not all digits, the lengths, and which
// places take an IP address.

// istioLabel is a DNS-1123 label as Istio's labels package has it: upper
// case letters are allowed.
var (
	istioLabel    = regexp.MustCompile(`^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`)
	wildcardLabel = regexp.MustCompile(`^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$`)
)

func isIstioLabel(s string) bool { return len(s) <= 63 && istioLabel.MatchString(s) }

// dnsLabelsProblem: every label a DNS-1123 label, an empty last label
// allowed (a trailing dot), and a last label that is not a number.
func dnsLabelsProblem(domain string) string {
	parts := strings.Split(domain, ".")
	if _, err := strconv.Atoi(parts[len(parts)-1]); err == nil {
		return fmt.Sprintf("domain name %q invalid (top level domain %q cannot be all-numeric)", domain, parts[len(parts)-1])
	}
	for i, l := range parts {
		if i == len(parts)-1 && l == "" {
			break
		}
		if !isIstioLabel(l) {
			return fmt.Sprintf("domain name %q invalid (label %q invalid)", domain, l)
		}
	}
	return ""
}

func lengthProblem(domain string) string {
	switch {
	case len(domain) > 255:
		return fmt.Sprintf("domain name %q too long (max 255)", domain)
	case domain == "":
		return "empty domain name not allowed"
	}
	return ""
}

// fqdnProblem is Istio's ValidateFQDN.
func fqdnProblem(domain string) string {
	if p := lengthProblem(domain); p != "" {
		return p
	}
	return dnsLabelsProblem(domain)
}

// wildcardDomainProblem is Istio's ValidateWildcardDomain: a wildcard only
// in the first label.
func wildcardDomainProblem(domain string) string {
	if p := lengthProblem(domain); p != "" {
		return p
	}
	first, rest, dotted := strings.Cut(domain, ".")
	if len(first) > 63 || !wildcardLabel.MatchString(first) {
		return fmt.Sprintf("domain name %q invalid (label %q invalid)", domain, first)
	}
	if dotted {
		return dnsLabelsProblem(rest)
	}
	return ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// gatewayHostProblem is Istio's rule for a Gateway server host,
// [namespace/]dnsName: the namespace *, . or a label; the name *, or a
// wildcard domain with a dot, or an IP address; no partial wildcard.
func gatewayHostProblem(host string) string {
	name := host
	if ns, n, ok := strings.Cut(host, "/"); ok {
		if ns == "" || n == "" {
			return "config namespace and dnsName in host entry cannot be empty"
		}
		if ns != "*" && ns != "." && !isIstioLabel(ns) {
			return fmt.Sprintf("invalid namespace value %q in gateway", ns)
		}
		name = n
	}
	if name != "*" && !strings.Contains(name, ".") {
		return "short names (non FQDN) are not allowed"
	}
	if p := wildcardDomainProblem(name); p != "" && !isIP(name) {
		return p
	}
	if strings.Contains(name, "*") && name != "*" && !strings.HasPrefix(name, "*.") {
		return fmt.Sprintf("partial wildcard %q not allowed", name)
	}
	return ""
}

// hostRules checks every host name of a resource.
func (r *reporter) hostRules(res *load.Resource, s map[string]any) {
	bad := func(path, msg string) {
		r.bad(res, path, "write a fully qualified name whose last label is not a number (example.com), a wildcard *.example.com, or where allowed an IP address", msg)
	}
	walkStrings(s, "spec", 0, func(path, label, v string) {
		if _, name, ok := strings.Cut(v, "/"); (ok && name == "*.") || v == "*." {
			if label == "hosts" || label == "host" || strings.HasSuffix(path, "]") && strings.Contains(path, "hosts[") {
				r.unsupported(res, path, `write "*"`, `the host "*." (Istio reads it as a wildcard for every name)`)
			}
		}
	})
	switch res.Kind {
	case "Gateway":
		servers, _ := s["servers"].([]any)
		for i, sv := range servers {
			srv, _ := sv.(map[string]any)
			for j, h := range strs(srv["hosts"]) {
				if p := gatewayHostProblem(h); p != "" {
					bad(fmt.Sprintf("spec.servers[%d].hosts[%d]", i, j), p)
				}
			}
		}
	case "VirtualService":
		for i, h := range strs(s["hosts"]) {
			if p := wildcardDomainProblem(h); p != "" && !isIP(h) {
				bad(fmt.Sprintf("spec.hosts[%d]", i), p)
			}
		}
		r.gatewayNames(res, "spec.gateways", strs(s["gateways"]))
		for _, kind := range []string{"http", "tcp", "tls"} {
			rules, _ := s[kind].([]any)
			for i, rv := range rules {
				rule, _ := rv.(map[string]any)
				path := fmt.Sprintf("spec.%s[%d]", kind, i)
				matches, _ := rule["match"].([]any)
				for j, mv := range matches {
					m, _ := mv.(map[string]any)
					r.gatewayNames(res, fmt.Sprintf("%s.match[%d].gateways", path, j), strs(m["gateways"]))
				}
				routes, _ := rule["route"].([]any)
				for j, d := range routes {
					dm, _ := d.(map[string]any)
					r.destination(res, fmt.Sprintf("%s.route[%d].destination", path, j), dm["destination"])
				}
				r.destination(res, path+".mirror", rule["mirror"])
				mirrors, _ := rule["mirrors"].([]any)
				for j, d := range mirrors {
					dm, _ := d.(map[string]any)
					r.destination(res, fmt.Sprintf("%s.mirrors[%d].destination", path, j), dm["destination"])
				}
			}
		}
	case "DestinationRule":
		if h, ok := s["host"].(string); ok && h != "*" {
			if p := wildcardDomainProblem(h); p != "" {
				bad("spec.host", p)
			}
		}
	case "ServiceEntry":
		for i, h := range strs(s["hosts"]) {
			if p := wildcardDomainProblem(h); p != "" && h != "*" {
				bad(fmt.Sprintf("spec.hosts[%d]", i), p)
			}
		}
	}
}

// destination is Istio's validateDestination: the host a wildcard domain
// (an IP address is not a destination host), a port number when a port is
// given.
func (r *reporter) destination(res *load.Resource, path string, v any) {
	d, _ := v.(map[string]any)
	if d == nil {
		return
	}
	if h, ok := d["host"].(string); ok && h != "*" {
		if p := wildcardDomainProblem(h); p != "" {
			r.bad(res, path+".host", "name a service: a fully qualified name whose last label is not a number, or a short name", p)
		}
	}
	if port, ok := d["port"].(map[string]any); ok {
		if n, _ := port["number"].(float64); n == 0 {
			r.bad(res, path+".port.number", "give the port number, or remove port", "port number 0 must be in the range 1..65535")
		}
	}
}

// gatewayNames is Istio's validateGatewayNames: namespace/name with both
// labels, or a name checked as an FQDN. Istio's check ends at the first
// name without a slash, so names after it are left to the compiler, which
// reports a gateway that does not exist.
func (r *reporter) gatewayNames(res *load.Resource, path string, names []string) {
	for i, g := range names {
		at := fmt.Sprintf("%s[%d]", path, i)
		ns, name, ok := strings.Cut(g, "/")
		if !ok {
			if p := fqdnProblem(g); p != "" {
				r.bad(res, at, "write name, namespace/name or mesh", fmt.Sprintf("invalid gateway name %q: %s", g, p))
			}
			return
		}
		if !isIstioLabel(ns) || !isIstioLabel(name) {
			r.bad(res, at, "write name, namespace/name or mesh", fmt.Sprintf("invalid gateway name %q: namespace and name must be DNS-1123 labels", g))
		}
	}
}
