package analyze

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// serviceEntryExtra: the address and resolution rules of Istio's
// ValidateServiceEntry.
func (r *reporter) serviceEntryExtra(res *load.Resource, s map[string]any) {
	resolution, _ := s["resolution"].(string)
	if resolution == "" {
		resolution = "NONE"
	}
	hosts := strs(s["hosts"])
	endpoints, _ := s["endpoints"].([]any)
	cidr := -1
	for i, a := range strs(s["addresses"]) {
		path := fmt.Sprintf("spec.addresses[%d]", i)
		if strings.Contains(a, "/") {
			if cidr < 0 {
				cidr = i
			}
			if _, err := netip.ParsePrefix(a); err != nil {
				r.bad(res, path, "write an IP address or a CIDR block such as 10.0.0.0/24", fmt.Sprintf("%q is not a valid CIDR block", a))
			}
		} else if _, err := netip.ParseAddr(a); err != nil {
			r.bad(res, path, "write an IP address or a CIDR block such as 10.0.0.0/24", fmt.Sprintf("%q is not a valid IP address", a))
		}
	}
	if cidr >= 0 && resolution != "NONE" && resolution != "STATIC" {
		r.bad(res, fmt.Sprintf("spec.addresses[%d]", cidr), "use single IP addresses, or resolution NONE or STATIC",
			"CIDR addresses are allowed only for NONE/STATIC resolution types")
	}
	switch resolution {
	case "DNS", "DNS_ROUND_ROBIN":
		if len(endpoints) == 0 {
			for i, h := range hosts {
				if !validFQDN(h) {
					r.bad(res, fmt.Sprintf("spec.hosts[%d]", i), "name the host, or add endpoints",
						fmt.Sprintf("hosts must be FQDN if no endpoints are provided for resolution mode %s", resolution))
				}
			}
		}
	case "DYNAMIC_DNS":
		if len(endpoints) > 0 {
			r.bad(res, "spec.endpoints", "remove them: DYNAMIC_DNS resolves the requested host", "no endpoints should be provided for resolution type DYNAMIC_DNS")
		}
		if _, ok := s["addresses"]; ok {
			r.bad(res, "spec.addresses", "remove them", "no addresses should be provided for resolution type DYNAMIC_DNS")
		}
		for i, h := range hosts {
			if !strings.HasPrefix(h, "*.") {
				r.bad(res, fmt.Sprintf("spec.hosts[%d]", i), "write a wildcard host such as *.example.com", "DYNAMIC_DNS resolution requires wildcard hosts")
			}
		}
	}
	ports, _ := s["ports"].([]any)
	if resolution != "NONE" && len(hosts) > 1 {
		for i, pv := range ports {
			p, _ := pv.(map[string]any)
			proto, _ := p["protocol"].(string)
			switch strings.ToUpper(proto) {
			case "HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB", "HTTPS", "TLS":
				continue
			}
			r.bad(res, fmt.Sprintf("spec.ports[%d]", i), "give each host its own ServiceEntry, or use HTTP, HTTPS or TLS ports",
				"multiple hosts provided with non-HTTP, non-TLS ports")
			break
		}
	}
	names := map[string]bool{}
	for _, pv := range ports {
		p, _ := pv.(map[string]any)
		if n, _ := p["name"].(string); n != "" {
			names[n] = true
		}
	}
	for i, ev := range endpoints {
		e, _ := ev.(map[string]any)
		path := fmt.Sprintf("spec.endpoints[%d]", i)
		eps, _ := e["ports"].(map[string]any)
		for _, n := range sortedKeys(eps) {
			if !names[n] {
				r.bad(res, field(path+".ports", n), "name a port of spec.ports", fmt.Sprintf("endpoint port %s is not defined by the service entry", n))
			}
		}
		l, _ := e["labels"].(map[string]any)
		r.labels(res, path+".labels", l)
	}
	// The workloadSelector is judged as Istio's ValidateAlphaWorkloadSelector
	// does: no empty key, no wildcard.
	ws, _ := s["workloadSelector"].(map[string]any)
	wl, _ := ws["labels"].(map[string]any)
	for _, k := range sortedKeys(wl) {
		v, _ := wl[k].(string)
		if k == "" || strings.Contains(k, "*") || strings.Contains(v, "*") {
			r.bad(res, field("spec.workloadSelector.labels", k), "write a label key and value without wildcards",
				fmt.Sprintf("empty key or wildcard is not supported in selector: %q", k+"="+v))
		}
	}
}

// validFQDN is Istio's ValidateFQDN: DNS-1123 labels, no wildcard.
func validFQDN(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 255 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if len(l) > 63 || !dnsLabelAnyCase.MatchString(l) {
			return false
		}
	}
	return true
}

var dnsLabelAnyCase = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$`)

// serviceEntryProtocols is istioctl's IST0177: ServiceEntries that give
// one host and port different protocols; which one applies depends on
// the order istiod merges them in.
func (r *reporter) serviceEntryProtocols(resources []*load.Resource) {
	type claim struct {
		res   *load.Resource
		proto string
		path  string
	}
	seen := map[string]claim{}
	for _, res := range resources {
		if res.Kind != "ServiceEntry" {
			continue
		}
		var s map[string]any
		if jsonSpec(specJSON(res)).Decode(&s) != nil {
			continue
		}
		ports, _ := s["ports"].([]any)
		for _, h := range strs(s["hosts"]) {
			for i, pv := range ports {
				p, _ := pv.(map[string]any)
				n, _ := p["number"].(float64)
				proto, _ := p["protocol"].(string)
				if proto == "" {
					continue
				}
				key := fmt.Sprintf("%s:%v", h, n)
				path := fmt.Sprintf("spec.ports[%d].protocol", i)
				first, ok := seen[key]
				if !ok {
					seen[key] = claim{res, proto, path}
					continue
				}
				if first.res != res && !strings.EqualFold(first.proto, proto) {
					r.report(diag.Warning, diag.CodeConflictingSEProtocol, res, path, "give the port one protocol in every ServiceEntry of the host",
						fmt.Sprintf("host %s port %v has protocol %s here and %s in %s at %s", h, n, proto, first.proto, first.res.ID(), first.res.PosOf(first.path)))
				}
			}
		}
	}
}

// seEndpoints: endpoint addresses by resolution (Istio's
// ValidateServiceEntry and validateWorkloadEntry): none with NONE (the
// default; the CRD says so), IP addresses or unix sockets with STATIC,
// IP addresses or FQDNs with DNS.
func (r *reporter) seEndpoints(res *load.Resource, s map[string]any) {
	resolution, _ := s["resolution"].(string)
	if resolution == "" {
		resolution = "NONE"
	}
	endpoints, _ := s["endpoints"].([]any)
	ports, _ := s["ports"].([]any)
	if resolution == "NONE" && len(endpoints) > 0 {
		r.bad(res, "spec.endpoints", "set resolution: STATIC (or DNS), or remove the endpoints", "NONE mode cannot set endpoints")
		return
	}
	for i, ev := range endpoints {
		e, _ := ev.(map[string]any)
		path := fmt.Sprintf("spec.endpoints[%d].address", i)
		addr, _ := e["address"].(string)
		network, _ := e["network"].(string)
		switch {
		case addr == "" && network == "":
			r.bad(res, fmt.Sprintf("spec.endpoints[%d]", i), "give the endpoint an address", "address is required")
		case addr == "":
		case resolution == "STATIC" && strings.HasPrefix(addr, "unix://"):
			if pm, _ := e["ports"].(map[string]any); len(pm) > 0 {
				r.bad(res, fmt.Sprintf("spec.endpoints[%d].ports", i), "remove the ports: a unix socket has none", fmt.Sprintf("unix endpoint %s must not include ports", addr))
			}
			if len(ports) != 1 {
				r.bad(res, path, "give the ServiceEntry exactly one port", "exactly 1 service port required for unix endpoints")
			}
		case resolution == "STATIC" && !isIP(addr):
			r.bad(res, path, "use an IP address, or resolution: DNS for host names", fmt.Sprintf("endpoint address %q is not an IP address, as resolution STATIC requires", addr))
		case (resolution == "DNS" || resolution == "DNS_ROUND_ROBIN") && !isIP(addr) && fqdnProblem(addr) != "":
			r.bad(res, path, "use an IP address or a fully qualified host name", fmt.Sprintf("endpoint address %q is not a valid FQDN or an IP address", addr))
		}
	}
}
