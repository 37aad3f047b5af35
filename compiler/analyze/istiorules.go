package analyze

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// istioRules checks the remaining rules of Istio's pkg/config/validation
// for one resource: formats, label syntax, exportTo, duration precision
// and the ServiceEntry resolution rules.
func (r *reporter) istioRules(res *load.Resource, spec any) {
	s, _ := spec.(map[string]any)
	if s == nil {
		return
	}
	switch res.Kind {
	case "Gateway":
		r.gatewayExtra(res, s)
	case "VirtualService":
		r.exportTo(res, s, false)
		r.vsMatches(res, s)
		r.durations(res, s)
		r.prefixCovered(res, s)
		if len(strs(s["hosts"])) == 0 {
			// Istio reads a VirtualService without hosts as a delegate.
			if len(strs(s["gateways"])) > 0 {
				r.bad(res, "spec.gateways", "add hosts, or remove gateways if this is a delegate",
					"delegate virtual service must have no gateways specified")
			}
			for _, k := range []string{"tls", "tcp"} {
				if l, _ := s[k].([]any); len(l) > 0 {
					r.bad(res, "spec."+k, "add hosts, or route only HTTP in a delegate",
						fmt.Sprintf("delegate virtual service must have no %s route specified", k))
				}
			}
		}
	case "DestinationRule":
		r.exportTo(res, s, false)
		r.durations(res, s)
		r.destinationRuleExtra(res, s)
	case "ServiceEntry":
		r.exportTo(res, s, true)
		r.serviceEntryExtra(res, s)
	}
}

func (r *reporter) bad(res *load.Resource, path, hint, msg string) {
	r.report(diag.Error, diag.CodeValidation, res, path, hint, msg)
}

// field is the path of key under path, quoted as walkStrings quotes it.
func field(path, key string) string {
	if strings.ContainsAny(key, ".[]\" ") || key == "" {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	return path + "." + key
}

// gatewayExtra: client certificate digests (Istio's validateTLSOptions)
// and unique server names.
func (r *reporter) gatewayExtra(res *load.Resource, s map[string]any) {
	servers, _ := s["servers"].([]any)
	names := map[string]string{}
	for i, sv := range servers {
		srv, _ := sv.(map[string]any)
		path := fmt.Sprintf("spec.servers[%d]", i)
		if n, _ := srv["name"].(string); n != "" {
			if first, ok := names[n]; ok {
				r.report(diag.Warning, diag.CodeValidationWarning, res, path+".name", "give each server its own name",
					fmt.Sprintf("server names must be unique: %s is also the name of %s", n, first))
			} else {
				names[n] = path
			}
		}
		tls, _ := srv["tls"].(map[string]any)
		for j, spki := range strs(tls["verifyCertificateSpki"]) {
			if b, err := base64.StdEncoding.DecodeString(spki); err != nil || len(b) != 32 {
				if err == nil {
					err = fmt.Errorf("%d bytes, want the 32 of a SHA-256 digest", len(b))
				}
				r.bad(res, fmt.Sprintf("%s.tls.verifyCertificateSpki[%d]", path, j), "write the base64 of the SHA-256 digest of the certificate's SubjectPublicKeyInfo",
					fmt.Sprintf("failed to decode verifyCertificateSpki %q: %v", spki, err))
			}
		}
		for j, h := range strs(tls["verifyCertificateHash"]) {
			if b, err := hex.DecodeString(strings.ReplaceAll(h, ":", "")); err != nil || len(b) != 32 {
				if err == nil {
					err = fmt.Errorf("%d bytes, want the 32 of a SHA-256 digest", len(b))
				}
				r.bad(res, fmt.Sprintf("%s.tls.verifyCertificateHash[%d]", path, j), "write the SHA-256 digest of the certificate in hex, with or without colons",
					fmt.Sprintf("failed to decode verifyCertificateHash %q: %v", h, err))
			}
		}
	}
}

var (
	// validHeaderName is RFC 7230's token, as Istio's validHeaderNameRegex.
	validHeaderName = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~A-Za-z0-9]+$")
	pseudoHeaders   = []string{":method", ":scheme", ":authority", ":path", ":status"}
	// labelName is the name part of a Kubernetes qualified name, and a
	// label value when not empty.
	labelName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

// validMatchHeader is Istio's ValidateHTTPHeaderNameOrJwtClaimRoute.
func validMatchHeader(name string) bool {
	if strings.HasPrefix(name, "@request.auth.claims.") || strings.HasPrefix(name, "@request.auth.claims[") {
		return true
	}
	return slices.Contains(pseudoHeaders, name) || validHeaderName.MatchString(name)
}

// vsMatches: header names, empty prefixes of scheme, method and
// authority, sourceNamespace and sourceLabels (validateHTTPRouteMatchRequest).
func (r *reporter) vsMatches(res *load.Resource, s map[string]any) {
	rules, _ := s["http"].([]any)
	for i, rv := range rules {
		rule, _ := rv.(map[string]any)
		matches, _ := rule["match"].([]any)
		for j, mv := range matches {
			m, _ := mv.(map[string]any)
			path := fmt.Sprintf("spec.http[%d].match[%d]", i, j)
			for _, hk := range []string{"headers", "withoutHeaders"} {
				hs, _ := m[hk].(map[string]any)
				for _, name := range sortedKeys(hs) {
					if name == "" || !validMatchHeader(name) {
						r.bad(res, field(path+"."+hk, name), "header names are RFC 7230 tokens (letters, digits and !#$%&'*+-.^_`|~), a pseudo-header or @request.auth.claims.NAME",
							fmt.Sprintf("header name %s is not a valid header name", name))
					}
				}
			}
			for _, k := range []string{"scheme", "method", "authority"} {
				sm, _ := m[k].(map[string]any)
				if p, ok := sm["prefix"].(string); ok && p == "" {
					r.bad(res, path+"."+k+".prefix", "write a prefix, or remove the "+k+" condition",
						fmt.Sprintf("%q: prefix string match should not be empty", k))
				}
			}
			if ns, ok := m["sourceNamespace"].(string); ok && !label.MatchString(ns) {
				r.bad(res, path+".sourceNamespace", "write a namespace name: lower-case letters, digits and '-'",
					fmt.Sprintf("sourceNamespace match %s is not a valid DNS label", ns))
			}
			sl, _ := m["sourceLabels"].(map[string]any)
			r.labels(res, path+".sourceLabels", sl)
		}
	}
}

// labels is Istio's labels.Instance.Validate: qualified-name keys and
// values of at most 63 characters.
func (r *reporter) labels(res *load.Resource, path string, m map[string]any) {
	for _, k := range sortedKeys(m) {
		if !validLabelKey(k) {
			r.bad(res, field(path, k), "a label key is [prefix/]name: the prefix a DNS subdomain, the name at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
				fmt.Sprintf("invalid tag key: %q", k))
			continue
		}
		v, _ := m[k].(string)
		if len(v) > 63 || (v != "" && !labelName.MatchString(v)) {
			r.bad(res, field(path, k), "a label value is at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
				fmt.Sprintf("invalid tag value: %q", v))
		}
	}
}

func validLabelKey(k string) bool {
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if prefix == "" || len(prefix) > 253 || !subdomain.MatchString(prefix) {
			return false
		}
		name = n
	}
	return len(name) <= 63 && labelName.MatchString(name)
}

// exportTo is Istio's validateExportTo: ".", "*", or namespace names; no
// duplicates; "*" alone; "~" only for a ServiceEntry, and alone.
func (r *reporter) exportTo(res *load.Resource, s map[string]any, serviceEntry bool) {
	list := strs(s["exportTo"])
	seen := map[string]bool{}
	public, none := false, false
	for i, e := range list {
		path := fmt.Sprintf("spec.exportTo[%d]", i)
		key := e
		if e == "." {
			key = res.Namespace
		}
		switch {
		case seen[key] && key != e:
			r.bad(res, path, "remove one of the two", fmt.Sprintf("duplicate entries in exportTo: . and current namespace %s", res.Namespace))
			continue
		case seen[key]:
			r.bad(res, path, "remove one of the two", "duplicate entries in exportTo for entry "+e)
			continue
		case e == "~" && !serviceEntry:
			r.bad(res, path, "use . to keep the resource in its namespace", "exportTo ~ (none) is not allowed for Istio configuration objects")
			continue
		case e != "." && e != "*" && e != "~" && !label.MatchString(e):
			r.bad(res, path, "write ., * or a namespace name", "only .,*, or a valid DNS 1123 label is allowed as exportTo entry")
			continue
		}
		seen[key] = true
		public = public || e == "*"
		none = none || e == "~"
	}
	if public && len(list) > 1 {
		r.bad(res, "spec.exportTo", "keep * alone: it exports to every namespace", "cannot have both public (*) and non-public exportTo values for a resource")
	}
	if none && len(list) > 1 {
		r.bad(res, "spec.exportTo", "keep ~ alone", "cannot export service entry to no one (~) and someone")
	}
}

// durationKeys are the fields Istio checks with ValidateDuration.
var durationKeys = map[string]bool{
	"timeout": true, "perTryTimeout": true, "fixedDelay": true, "connectTimeout": true,
	"idleTimeout": true, "interval": true, "baseEjectionTime": true, "backoff": true,
	"maxConnectionDuration": true, "time": true, "duration": true,
}

// durations: Istio's ValidateDuration refuses durations finer than a
// millisecond (the compiler checks the 1ms minimum).
func (r *reporter) durations(res *load.Resource, s map[string]any) {
	walkStrings(s, "spec", 0, func(path, label, v string) {
		if !durationKeys[label] {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d%time.Millisecond == 0 {
			return
		}
		r.bad(res, path, "round to whole milliseconds", fmt.Sprintf("%s: only durations to ms precision are supported", v))
	})
}

// prefixCovered is the overlap check of Istio's
// analyzeUnreachableHTTPRules: a uri prefix match is ineffective
// (IST0131) when an earlier uri prefix match, itself a prefix of it,
// has the same port and the same (or, by Istio's reading, covering)
// method, authority, headers, query parameters and withoutHeaders.
// Matches after a rule without matches, and exact repeats, are left to
// unreachable.
func (r *reporter) prefixCovered(res *load.Resource, s map[string]any) {
	var list []prefixMatch
	seen := map[string]bool{}
	rules, _ := s["http"].([]any)
	catchAll := false
	for i, rv := range rules {
		rule, _ := rv.(map[string]any)
		matches, _ := rule["match"].([]any)
		if len(matches) == 0 || catchAll {
			// The rules after are unreachable (IST0130): no need to
			// say their matches are covered too.
			break
		}
		for j, mv := range matches {
			m, _ := mv.(map[string]any)
			catchAll = catchAll || isCatchAll(m)
			key := matchKey(m)
			if seen[key] {
				continue
			}
			seen[key] = true
			if pm, ok := newPrefixMatch(m); ok {
				pm.path = fmt.Sprintf("spec.http[%d].match[%d]", i, j)
				list = append(list, pm)
			}
		}
	}
	for a := range list {
		for b := a + 1; b < len(list); b++ {
			if list[a].prefix != list[b].prefix && list[a].covers(&list[b]) {
				r.report(diag.Note, diag.CodeIneffectiveMatch, res, list[b].path+".uri.prefix", "move it before "+list[a].path+", or remove it",
					fmt.Sprintf("match is ineffective: the uri prefix %q of %s before it matches every request it matches", list[a].prefix, list[a].path))
			}
		}
	}
}

// prefixMatch is what Istio compares of a match with a uri prefix:
// exact and prefix conditions as "exact:v" / "prefix:v", "" otherwise.
type prefixMatch struct {
	path, prefix, method, authority string
	port                            float64
	headers, query, without         map[string]string
}

func newPrefixMatch(m map[string]any) (prefixMatch, bool) {
	uri, _ := m["uri"].(map[string]any)
	p, _ := uri["prefix"].(string)
	if p == "" {
		return prefixMatch{}, false
	}
	pm := prefixMatch{prefix: p, method: exactOrPrefix(m["method"]), authority: exactOrPrefix(m["authority"])}
	if pm.method == "" {
		pm.method = "exact:GET" // Istio's default when the match names no method
	}
	pm.port, _ = m["port"].(float64)
	conds := func(k string) map[string]string {
		out := map[string]string{}
		mm, _ := m[k].(map[string]any)
		for name, v := range mm {
			out[name] = exactOrPrefix(v)
		}
		return out
	}
	pm.headers, pm.query, pm.without = conds("headers"), conds("queryParams"), conds("withoutHeaders")
	return pm, true
}

func exactOrPrefix(v any) string {
	sm, _ := v.(map[string]any)
	if e, _ := sm["exact"].(string); e != "" {
		return "exact:" + e
	}
	if p, _ := sm["prefix"].(string); p != "" {
		return "prefix:" + p
	}
	return ""
}

// covers is Istio's coveredValidation, with its comparisons as written.
func (a *prefixMatch) covers(b *prefixMatch) bool {
	if !strings.HasPrefix(b.prefix, a.prefix) || a.port != b.port {
		return false
	}
	if !strings.HasPrefix(a.method, b.method) || !strings.HasPrefix(a.authority, b.authority) {
		return false
	}
	same := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !strings.HasPrefix(v, w) {
				return false
			}
		}
		return true
	}
	return same(a.headers, b.headers) && same(a.query, b.query) && same(a.without, b.without)
}

// destinationRuleExtra: subset labels and minimumRingSize beside a hash
// algorithm (validateLoadBalancer).
func (r *reporter) destinationRuleExtra(res *load.Resource, s map[string]any) {
	subsets, _ := s["subsets"].([]any)
	r.trafficPolicy(res, "spec.trafficPolicy", s["trafficPolicy"])
	for i, sv := range subsets {
		sub, _ := sv.(map[string]any)
		path := fmt.Sprintf("spec.subsets[%d]", i)
		l, _ := sub["labels"].(map[string]any)
		r.labels(res, path+".labels", l)
		r.trafficPolicy(res, path+".trafficPolicy", sub["trafficPolicy"])
	}
}

func (r *reporter) trafficPolicy(res *load.Resource, path string, v any) {
	tp, _ := v.(map[string]any)
	r.ringSize(res, path+".loadBalancer", tp["loadBalancer"])
	ports, _ := tp["portLevelSettings"].([]any)
	for i, pv := range ports {
		p, _ := pv.(map[string]any)
		r.ringSize(res, fmt.Sprintf("%s.portLevelSettings[%d].loadBalancer", path, i), p["loadBalancer"])
	}
}

func (r *reporter) ringSize(res *load.Resource, path string, v any) {
	lb, _ := v.(map[string]any)
	ch, _ := lb["consistentHash"].(map[string]any)
	if n, _ := ch["minimumRingSize"].(float64); n == 0 {
		return
	}
	if _, ok := ch["ringHash"]; ok {
		r.bad(res, path+".consistentHash.minimumRingSize", "set ringHash.minimumRingSize instead", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
	} else if _, ok := ch["maglev"]; ok {
		r.bad(res, path+".consistentHash.minimumRingSize", "remove it: maglev uses tableSize", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
	}
}

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

// caCertificates is istioctl's CaCertificateAnalyzer: upstream SIMPLE or
// MUTUAL TLS that verifies no server certificate (IST0128 for the rule,
// IST0129 for a port).
func (r *reporter) caCertificates(resources []*load.Resource) {
	for _, res := range resources {
		if res.Kind != "DestinationRule" {
			continue
		}
		var s map[string]any
		if jsonSpec(specJSON(res)).Decode(&s) != nil {
			continue
		}
		host, _ := s["host"].(string)
		tp, _ := s["trafficPolicy"].(map[string]any)
		check := func(path, code string, v any, port string) {
			tls, _ := v.(map[string]any)
			mode, _ := tls["mode"].(string)
			if mode != "SIMPLE" && mode != "MUTUAL" {
				return
			}
			ca, _ := tls["caCertificates"].(string)
			cred, _ := tls["credentialName"].(string)
			skip, _ := tls["insecureSkipVerify"].(bool)
			if ca != "" || cred != "" || skip {
				return
			}
			msg := fmt.Sprintf("DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s",
				res.Name, res.Namespace, mode, host)
			if port != "" {
				msg += " at port " + port
			}
			r.report(diag.Warning, code, res, path, "set caCertificates to the CA that signs the upstream's certificate (gwc falls back to the system roots)", msg)
		}
		check("spec.trafficPolicy.tls.mode", diag.CodeNoServerVerification, tp["tls"], "")
		ports, _ := tp["portLevelSettings"].([]any)
		for i, pv := range ports {
			p, _ := pv.(map[string]any)
			pn, _ := p["port"].(map[string]any)
			n, _ := pn["number"].(float64)
			check(fmt.Sprintf("spec.trafficPolicy.portLevelSettings[%d].tls.mode", i), diag.CodeNoServerVerificationPort, p["tls"], fmt.Sprint(n))
		}
	}
}

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
