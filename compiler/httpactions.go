package compiler

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// HTTP actions other than route: redirect, directResponse, rewrite,
// headers, timeout and retries, as istiod translates them
// (pilot/pkg/networking/core/route/route.go, route/retry/retry.go).

// retryConditions are the x-envoy-retry-on and x-envoy-retry-grpc-on
// policies Istio's validation accepts.
var retryConditions = []string{
	"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx",
	"refused-stream", "retriable-status-codes", "retriable-headers", "envoy-ratelimited",
	"http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
}

// redirectCodes are the codes Envoy's RedirectAction can send; istiod drops
// a redirect with another 3xx code, which gwc refuses instead.
var redirectCodes = []int{301, 302, 303, 307, 308}

// applyActions fills r's actions from rule, for the route built from match
// m (nil when the rule has no match) on listenerPort. Problems were
// reported by checkRule; here bad values are only skipped.
func applyActions(r *ir.Route, rule httpRoute, m *httpMatch, listenerPort int) {
	if rd := rule.Redirect; rd != nil {
		out := &ir.Redirect{Path: rd.URI, Authority: rd.Authority, Port: rd.Port, Scheme: rd.Scheme, Code: rd.RedirectCode}
		if out.Code == 0 {
			out.Code = 301
		}
		if rd.DerivePort == "FROM_REQUEST_PORT" {
			out.Port = listenerPort
		}
		if rd.PrefixRewrite != nil {
			out.RewritePrefix, out.PrefixRewrite = true, *rd.PrefixRewrite
			out.MatchedPrefix, _ = matchedPrefix(m)
			out.IgnoreCase = m != nil && m.IgnoreURICase
		}
		r.Redirect = out
	}
	if dr := rule.DirectResponse; dr != nil {
		out := &ir.DirectResponse{Status: dr.Status}
		if dr.Body != nil {
			switch {
			case dr.Body.String != nil:
				out.Body = []byte(*dr.Body.String)
			case dr.Body.Bytes != nil:
				out.Body, _ = base64.StdEncoding.DecodeString(*dr.Body.Bytes)
			}
		}
		r.DirectResponse = out
	}
	if rw := rule.Rewrite; rw != nil {
		out := &ir.Rewrite{URI: rw.URI, Authority: rw.Authority}
		if rw.URI != "" {
			prefix, whole := matchedPrefix(m)
			out.MatchedPrefix, out.WholePath = prefix, whole
			out.IgnoreCase = m != nil && m.IgnoreURICase
		}
		if rr := rw.URIRegexRewrite; rr != nil {
			out.RegexMatch, out.RegexSubst = rr.Match, rr.Rewrite
		}
		r.Rewrite = out
	}
	if rule.Headers != nil {
		var authority string
		r.RequestHeaders, authority = lowerOps(rule.Headers.Request, true)
		r.ResponseHeaders, _ = lowerOps(rule.Headers.Response, false)
		if authority != "" {
			if r.Rewrite == nil {
				r.Rewrite = &ir.Rewrite{}
			}
			r.Rewrite.Authority = authority
		}
	}
	if d, err := parseDuration(rule.Timeout); err == nil {
		r.TimeoutMS = d.Milliseconds()
	}
	r.Retry = retryPolicy(rule.Retries)
	r.Fault = lowerFault(rule.Fault)
	r.CORS = lowerCORS(rule.CorsPolicy)
}

// matchedPrefix returns the part of the path a route's uri match covers,
// which Envoy's prefix_rewrite replaces: the prefix of a prefix match, "/"
// when there is no uri match, the whole path for exact and regex matches.
func matchedPrefix(m *httpMatch) (prefix string, whole bool) {
	if m == nil || m.URI == nil {
		return "/", false
	}
	if m.URI.Prefix != nil {
		return *m.URI.Prefix, false
	}
	if m.URI.Regex != nil && (*m.URI.Regex == "*") {
		return "/", false
	}
	return "", true
}

// lowerOps turns header operations into the IR, sorted. A request set or
// add of ":authority" or "host" is an authority rewrite in Istio: it is
// returned apart, set winning over add.
func lowerOps(ops *headerOps, request bool) (ir.HeaderOps, string) {
	var out ir.HeaderOps
	if ops == nil {
		return out, ""
	}
	var authority string
	take := func(m map[string]string) []ir.Header {
		var hs []ir.Header
		for _, k := range sortedKeys(m) {
			name := strings.ToLower(k)
			if request && (name == ":authority" || name == "host") {
				if authority == "" {
					authority = m[k]
				}
				continue
			}
			if strings.HasPrefix(name, ":") {
				continue
			}
			hs = append(hs, ir.Header{Name: name, Value: unescapePercent(m[k])})
		}
		return hs
	}
	out.Set = take(ops.Set)
	out.Add = take(ops.Add)
	for _, n := range ops.Remove {
		name := strings.ToLower(n)
		if name == "host" || strings.HasPrefix(name, ":") {
			continue
		}
		out.Remove = append(out.Remove, name)
	}
	slices.Sort(out.Remove)
	out.Remove = slices.Compact(out.Remove)
	return out, authority
}

// mergeRemovals is the sorted union of two sorted removal lists.
func mergeRemovals(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// unescapePercent turns Envoy's "%%" into "%"; checkRule has refused any
// other "%" (a %VAR% command operator gwc does not evaluate).
func unescapePercent(v string) string {
	return strings.ReplaceAll(v, "%%", "%")
}

func retryPolicy(in *httpRetry) ir.RetryPolicy {
	out := ir.DefaultRetry
	out.On = slices.Clone(out.On)
	if in == nil {
		return out
	}
	if in.Attempts != nil {
		out.Attempts = *in.Attempts
	}
	if out.Attempts == 0 {
		return ir.RetryPolicy{}
	}
	if d, err := parseDuration(in.PerTryTimeout); err == nil {
		out.PerTryTimeoutMS = d.Milliseconds()
	}
	if d, err := parseDuration(in.Backoff); err == nil {
		out.BackoffMS = d.Milliseconds()
	}
	if in.RetryIgnorePreviousHosts != nil && !*in.RetryIgnorePreviousHosts {
		out.AllowPreviousHosts = true
	}
	if in.RetryOn != nil {
		on, codes, _ := parseRetryOn(*in.RetryOn)
		out.On, out.StatusCodes = on, codes
	}
	return out
}

// parseRetryOn splits a retryOn list as istiod does: numbers are status
// codes, which add "retriable-status-codes"; the rest are conditions.
// invalidRetryOn lists the entries of retryOn Istio's webhook refuses:
// each comma-separated entry, untrimmed, is a condition Envoy knows or a
// status code with a standard reason phrase.
func invalidRetryOn(s string) []string {
	var bad []string
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(p); err == nil && http.StatusText(n) != "" {
			continue
		}
		if !slices.Contains(retryConditions, p) {
			bad = append(bad, strconv.Quote(p))
		}
	}
	return bad
}

func parseRetryOn(s string) (on []string, codes []int, bad []string) {
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil {
			if n < 100 || n > 599 {
				bad = append(bad, p)
				continue
			}
			if !slices.Contains(codes, n) {
				codes = append(codes, n)
			}
			continue
		}
		if !slices.Contains(retryConditions, p) {
			bad = append(bad, p)
			continue
		}
		if !slices.Contains(on, p) {
			on = append(on, p)
		}
	}
	if len(codes) > 0 && !slices.Contains(on, "retriable-status-codes") {
		on = append(on, "retriable-status-codes")
	}
	slices.Sort(codes)
	return on, codes, bad
}

// parseDuration reads a #Duration; "" is an error too, meaning unset.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("no duration")
	}
	return time.ParseDuration(s)
}

// checkRule reports every problem of rule i's matches and actions that the
// schema cannot see, as Istio's validation does.
func (c *compilation) checkRule(vs *virtualService, i int, rule httpRoute) {
	at := func(f string, args ...any) string { return fmt.Sprintf("spec.http[%d]", i) + fmt.Sprintf(f, args...) }
	for j, m := range rule.Match {
		c.checkMatch(vs, at(".match[%d]", j), m)
	}
	if rd := rule.Redirect; rd != nil {
		if rule.Rewrite != nil {
			c.errorc(codeValidation, vs.Resource, at(".rewrite"), "remove the rewrite, or the redirect", "rewrite cannot be used with redirect")
		}
		if rule.Fault != nil {
			c.errorc(codeValidation, vs.Resource, at(".fault"), "remove the fault, or the redirect", "fault cannot be used with redirect")
		}
		if rd.URI == "" && rd.PrefixRewrite == nil && rd.Authority == "" && rd.Scheme == "" && rd.Port == 0 && rd.DerivePort == "" {
			c.errorc(codeValidation, vs.Resource, at(".redirect"), "set uri, prefixRewrite, authority, scheme or port", "redirect changes nothing")
		}
		if rd.Scheme != "" && rd.Scheme != "http" && rd.Scheme != "https" {
			c.errorc(codeValidation, vs.Resource, at(".redirect.scheme"), `use "http" or "https"`, "redirect scheme %q is not http or https", rd.Scheme)
		}
		if rd.RedirectCode > 0 && rd.RedirectCode < 300 {
			c.errorc(codeValidation, vs.Resource, at(".redirect.redirectCode"), "use 301, 302, 303, 307 or 308, or leave it out for 301",
				"%d is not a valid redirect code, must be 3xx", rd.RedirectCode)
		} else if rd.RedirectCode != 0 && !slices.Contains(redirectCodes, rd.RedirectCode) {
			c.errorc(codeUnsupported, vs.Resource, at(".redirect.redirectCode"), "use 301, 302, 303, 307 or 308",
				"redirect code %d is not one Envoy can send (istiod drops such a redirect)", rd.RedirectCode)
		}
		if rd.PrefixRewrite != nil {
			if rd.URI != "" {
				c.errorc(codeValidation, vs.Resource, at(".redirect.prefixRewrite"), "keep uri or prefixRewrite", "redirect uri and prefixRewrite cannot both be set")
			}
			for j, m := range rule.Match {
				if m.URI != nil && m.URI.Prefix == nil {
					c.errorc(codeValidation, vs.Resource, at(".match[%d].uri", j), "match the uri by prefix, or use redirect uri",
						"redirect prefixRewrite needs every uri match of the rule to be a prefix")
				}
			}
		}
	}
	if rule.DirectResponse != nil {
		if rule.Rewrite != nil {
			c.errorc(codeValidation, vs.Resource, at(".rewrite"), "remove the rewrite, or the directResponse", "rewrite cannot be used with directResponse")
		}
		if rule.Fault != nil {
			c.errorc(codeValidation, vs.Resource, at(".fault"), "remove the fault, or the directResponse", "fault cannot be used with directResponse")
		}
		if b := rule.DirectResponse.Body; b != nil {
			n := 0
			if b.String != nil {
				n = len(*b.String)
			}
			if b.Bytes != nil {
				data, err := base64.StdEncoding.DecodeString(*b.Bytes)
				if err != nil {
					c.errorc(codeValidation, vs.Resource, at(".directResponse.body.bytes"), "give the body as standard base64", "decoding body bytes: %v", err)
				}
				n = len(data)
			}
			switch {
			case n > 1<<20:
				c.errorc(codeValidation, vs.Resource, at(".directResponse.body"), "serve large bodies from a backend", "directResponse body is %d bytes, over Istio's limit of 1MiB", n)
			case n > 100<<10:
				c.warnc(codeValidationWarn, vs.Resource, at(".directResponse.body"), "serve large bodies from a backend", "directResponse body is %d bytes, over 100KiB", n)
			}
		}
	}
	if rw := rule.Rewrite; rw != nil {
		if rw.URI == "" && rw.Authority == "" && rw.URIRegexRewrite == nil {
			c.errorc(codeValidation, vs.Resource, at(".rewrite"), "set uri, uriRegexRewrite or authority", "rewrite changes nothing")
		}
		if rw.URI != "" && rw.URIRegexRewrite != nil {
			c.errorc(codeValidation, vs.Resource, at(".rewrite.uriRegexRewrite"), "keep uri or uriRegexRewrite", "rewrite uri and uriRegexRewrite cannot both be set")
		}
		if rr := rw.URIRegexRewrite; rr != nil {
			c.checkRegex(vs, at(".rewrite.uriRegexRewrite.match"), rr.Match)
		}
	}
	c.checkExtras(vs, i, rule)
	c.checkHeaders(vs, at(".headers"), rule.Headers, rule.Rewrite != nil && rule.Rewrite.Authority != "")
	for k, d := range rule.Route {
		c.checkHeaders(vs, at(".route[%d].headers", k), d.Headers, false)
		if d.Weight != nil && *d.Weight < 0 {
			c.errorc(codeValidation, vs.Resource, at(".route[%d].weight", k), "use a weight of 0 or more", "weight %d is negative", *d.Weight)
		}
	}
	if rule.Timeout != "" {
		c.checkDuration(vs, at(".timeout"), rule.Timeout)
	}
	if rt := rule.Retries; rt != nil {
		// An unset attempts is 0 to Istio's webhook (proto3).
		disabled := rt.Attempts == nil || *rt.Attempts == 0
		if rt.PerTryTimeout != "" {
			c.checkDuration(vs, at(".retries.perTryTimeout"), rt.PerTryTimeout)
		}
		if rt.Backoff != "" {
			c.checkDuration(vs, at(".retries.backoff"), rt.Backoff)
		}
		if disabled && (rt.PerTryTimeout != "" || rt.RetryOn != nil || rt.RetryRemoteLocalities) {
			c.errorc(codeValidation, vs.Resource, at(".retries"), "remove perTryTimeout, retryOn and retryRemoteLocalities, or set attempts above 0",
				"retries with attempts 0 disables retrying, so its other fields cannot apply")
		}
		if rt.RetryOn != nil && *rt.RetryOn != "" {
			if bad := invalidRetryOn(*rt.RetryOn); len(bad) > 0 {
				c.errorc(codeValidation, vs.Resource, at(".retries.retryOn"), "use HTTP status codes or: "+strings.Join(retryConditions, ", "),
					"retryOn has conditions Envoy does not know: %s", strings.Join(bad, ", "))
			}
		}
		if rt.RetryRemoteLocalities {
			c.warnc(codeIgnored, vs.Resource, at(".retries.retryRemoteLocalities"), "remove it",
				"retryRemoteLocalities has no effect: a gwc gateway has no localities")
		}
	}
}

func (c *compilation) checkMatch(vs *virtualService, path string, m httpMatch) {
	for _, f := range []struct {
		name string
		sm   *stringMatch
	}{{"uri", m.URI}, {"scheme", m.Scheme}, {"method", m.Method}, {"authority", m.Authority}} {
		if f.sm != nil && f.sm.Regex != nil {
			c.checkRegex(vs, path+"."+f.name+".regex", *f.sm.Regex)
		}
	}
	for field, hs := range map[string]map[string]stringMatch{"headers": m.Headers, "withoutHeaders": m.WithoutHeaders} {
		for _, k := range sortedKeys(hs) {
			sm := hs[k]
			if sm.Regex != nil && *sm.Regex != "*" {
				c.checkRegex(vs, path+"."+field+"."+k+".regex", *sm.Regex)
			}
			if sm.Prefix != nil && *sm.Prefix == "" {
				c.errorc(codeValidation, vs.Resource, path+"."+field+"."+k+".prefix", "use {} to ask that the header is present",
					"an empty header prefix is invalid in Istio")
			}
		}
	}
	for _, k := range sortedKeys(m.QueryParams) {
		sm := m.QueryParams[k]
		if sm.Prefix != nil {
			c.errorc(codeUnsupported, vs.Resource, path+".queryParams."+k+".prefix", "use exact, or a regex such as 'abc.*'",
				"queryParams prefix, which istiod does not translate (only exact and regex)")
		}
		if sm.Regex != nil && *sm.Regex != "*" {
			c.checkRegex(vs, path+".queryParams."+k+".regex", *sm.Regex)
		}
	}
}

// checkRegex compiles a regex as RE2, as Envoy's safe_regex and Istio's
// validation do; Go's regexp is RE2.
func (c *compilation) checkRegex(vs *virtualService, path, re string) {
	if re == "" {
		c.errorc(codeValidation, vs.Resource, path, "give a pattern, or remove the condition", "regex is empty")
		return
	}
	if len(re) > 1024 {
		c.errorc(codeValidation, vs.Resource, path, "shorten the regex", "regex is %d characters, over Istio's limit of 1024", len(re))
	}
	if _, err := regexp.Compile(re); err != nil {
		c.errorc(codeValidation, vs.Resource, path, "write an RE2 regex (no lookaround or backreferences)", "invalid regex: %v", err)
	}
}

func (c *compilation) checkDuration(vs *virtualService, path, s string) {
	d, err := parseDuration(s)
	switch {
	case err != nil:
		c.errorc(codeValidation, vs.Resource, path, `write a duration such as "1.5s" or "300ms"`, "invalid duration %q: %v", s, err)
	case d < time.Millisecond:
		c.errorc(codeValidation, vs.Resource, path, "use 1ms or more", "duration %s is under Istio's minimum of 1ms", s)
	}
}

// checkHeaders applies Istio's rules for header operations; rewrites says
// the rule's rewrite already sets the authority.
func (c *compilation) checkHeaders(vs *virtualService, path string, h *headers, rewrites bool) {
	if h == nil {
		return
	}
	check := func(dir string, ops *headerOps) {
		if ops == nil {
			return
		}
		authority := 0
		if rewrites && dir == "request" {
			authority++
		}
		for op, m := range map[string]map[string]string{"set": ops.Set, "add": ops.Add} {
			for _, k := range sortedKeys(m) {
				p := fmt.Sprintf("%s.%s.%s.%s", path, dir, op, k)
				name := strings.ToLower(k)
				switch {
				case dir == "request" && (name == ":authority" || name == "host"):
					authority++
				case strings.HasPrefix(name, ":") || (dir == "response" && name == "host"):
					c.errorc(codeValidation, vs.Resource, p, "remove it", "header %q cannot be changed here", k)
				}
				if err, unsupported := checkHeaderValue(m[k]); err != nil {
					code := codeValidation
					if unsupported {
						code = codeUnsupported
					}
					c.errorc(code, vs.Resource, p, `write "%%" for a literal "%"`, "header value: %v", err)
				}
			}
		}
		if authority > 1 {
			c.errorc(codeValidation, vs.Resource, path+"."+dir, "set the authority once: rewrite.authority, or one header operation",
				"authority header cannot be set multiple times")
		}
		for k, n := range ops.Remove {
			name := strings.ToLower(n)
			if name == "" {
				c.errorc(codeValidation, vs.Resource, fmt.Sprintf("%s.%s.remove[%d]", path, dir, k), "name a header", "header name cannot be empty")
			} else if name == "host" || strings.HasPrefix(name, ":") {
				c.errorc(codeValidation, vs.Resource, fmt.Sprintf("%s.%s.remove[%d]", path, dir, k), "remove it", "header %q cannot be removed", n)
			}
		}
	}
	check("request", h.Request)
	check("response", h.Response)
}

// checkHeaderValue refuses control characters and Envoy's %VAR% command
// operators, which gwc does not evaluate; "%%" is a literal "%".
//
// unsupported is set for a well-formed %VAR% operator: Istio accepts it
// and Envoy evaluates it, gwc does not. A lone % is invalid in Istio too.
func checkHeaderValue(v string) (err error, unsupported bool) {
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b == '%':
			if i+1 < len(v) && v[i+1] == '%' {
				i++
				continue
			}
			if !strings.Contains(v[i+1:], "%") {
				return fmt.Errorf("%q has an un-terminated variable expression", v), false
			}
			return fmt.Errorf("%q uses an Envoy %%VAR%% command operator, which gwc does not evaluate", v), true
		case b < ' ' && b != '\t', b == 0x7f:
			return fmt.Errorf("%q has a control character", v), false
		}
	}
	return nil, false
}
