package analyze

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
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
	r.hostRules(res, s)
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
		r.seEndpoints(res, s)
	}
}

func (r *reporter) bad(res *load.Resource, path, hint, msg string) {
	r.report(diag.Error, diag.CodeValidation, res, path, hint, msg)
}

// unsupported reports a form Istio's webhook accepts and gwc refuses.
func (r *reporter) unsupported(res *load.Resource, path, hint, msg string) {
	r.report(diag.Error, diag.CodeUnsupported, res, path, hint, diag.UnsupportedPrefix+msg)
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
				// Istio's webhook does not look; Envoy refuses the listener.
				r.unsupported(res, fmt.Sprintf("%s.tls.verifyCertificateSpki[%d]", path, j), "write the base64 of the SHA-256 digest of the certificate's SubjectPublicKeyInfo",
					fmt.Sprintf("failed to decode verifyCertificateSpki %q: %v", spki, err))
			}
		}
		for j, h := range strs(tls["verifyCertificateHash"]) {
			if b, err := hex.DecodeString(strings.ReplaceAll(h, ":", "")); err != nil || len(b) != 32 {
				if err == nil {
					err = fmt.Errorf("%d bytes, want the 32 of a SHA-256 digest", len(b))
				}
				r.unsupported(res, fmt.Sprintf("%s.tls.verifyCertificateHash[%d]", path, j), "write the SHA-256 digest of the certificate in hex, with or without colons",
					fmt.Sprintf("failed to decode verifyCertificateHash %q: %v", h, err))
			}
		}
	}
}

var (
	// validHeaderName is Istio's validHeaderNameRegex: RFC 7230's token
	// and, as its character class reads "+-." as a range, a comma.
	validHeaderName = regexp.MustCompile("^[!#$%&'*+,\\-.^_`|~A-Za-z0-9]+$")
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
		// Istio's labelValueRegexp has no length limit.
		if v != "" && !labelName.MatchString(v) {
			r.bad(res, field(path, k), "a label value is letters, digits, '-', '_' or '.', starting and ending alphanumeric",
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
		case e != "." && e != "*" && e != "~" && !isIstioLabel(e):
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
	"maxAge": true, "exponentialDelay": true, "warmupDurationSecs": true,
}

// durations: Istio's ValidateDuration refuses durations finer than a
// millisecond (the compiler checks the 1ms minimum).
func (r *reporter) durations(res *load.Resource, s map[string]any) {
	walkStrings(s, "spec", 0, func(path, label, v string) {
		if !durationKeys[label] {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return
		}
		if d < time.Millisecond {
			// The CRD's CEL rule, on every duration field but a cookie's ttl.
			r.bad(res, path, "use 1ms or more", fmt.Sprintf("%s: must be a valid duration greater than 1ms", v))
			return
		}
		if d%time.Millisecond == 0 || label == "maxAge" || label == "exponentialDelay" || label == "warmupDurationSecs" {
			return
		}
		r.bad(res, path, "round to whole milliseconds", fmt.Sprintf("%s: only durations to ms precision are supported", v))
	})
}
