package compiler

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// RequestAuthentication (security.istio.io v1 and v1beta1), as istiod
// turns it into Envoy's jwt_authn filter on a gateway
// (pilot/pkg/security/authn/policy_applier.go): every jwtRules entry of
// every RequestAuthentication applied to the gateway, sorted by issuer.
// The binary is the gateway workload, so selector and targetRefs apply
// the policy to it, as a Gateway's selector picks it.

type requestAuthentication struct {
	*load.Resource
	Spec requestAuthnSpec
}

type requestAuthnSpec struct {
	Selector *struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	TargetRef  any       `json:"targetRef"`
	TargetRefs []any     `json:"targetRefs"`
	JWTRules   []jwtRule `json:"jwtRules"`
}

type jwtRule struct {
	Issuer      string   `json:"issuer"`
	Audiences   []string `json:"audiences"`
	JWKSURI     string   `json:"jwksUri"`
	JWKS        string   `json:"jwks"`
	FromHeaders []struct {
		Name   string `json:"name"`
		Prefix string `json:"prefix"`
	} `json:"fromHeaders"`
	FromParams            []string `json:"fromParams"`
	FromCookies           []string `json:"fromCookies"`
	OutputPayloadToHeader string   `json:"outputPayloadToHeader"`
	ForwardOriginalToken  bool     `json:"forwardOriginalToken"`
	OutputClaimToHeaders  []struct {
		Header string `json:"header"`
		Claim  string `json:"claim"`
	} `json:"outputClaimToHeaders"`
	Timeout              string   `json:"timeout"`
	SpaceDelimitedClaims []string `json:"spaceDelimitedClaims"`
}

// defaultJWKSTimeout is Istio's default jwtRules timeout.
const defaultJWKSTimeout = 5 * time.Second

// lowerJWTRules checks the RequestAuthentications and returns their rules
// in istiod's order.
func (c *compilation) lowerJWTRules() []ir.JWTRule {
	var out []ir.JWTRule
	for _, ra := range c.requestAuthns {
		for i := range ra.Spec.JWTRules {
			if r, ok := c.jwtRule(ra, i); ok {
				out = append(out, r)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ir.JWTRule) int { return cmp.Compare(a.Issuer, b.Issuer) })
	return out
}

func (c *compilation) jwtRule(ra *requestAuthentication, i int) (ir.JWTRule, bool) {
	res, s := ra.Resource, &ra.Spec.JWTRules[i]
	field := fmt.Sprintf("spec.jwtRules[%d]", i)
	r := ir.JWTRule{
		Origin:                ir.Origin{Pos: res.PosOf(field), Resource: res.Namespace + "/" + res.Name, Field: fmt.Sprintf("jwtRules[%d]", i)},
		Issuer:                s.Issuer,
		Audiences:             s.Audiences,
		FromParams:            s.FromParams,
		FromCookies:           s.FromCookies,
		OutputPayloadToHeader: strings.ToLower(s.OutputPayloadToHeader),
		ForwardOriginalToken:  s.ForwardOriginalToken,
		SpaceDelimitedClaims:  s.SpaceDelimitedClaims,
		Timeout:               defaultJWKSTimeout,
	}
	ok := true
	for _, h := range s.FromHeaders {
		r.FromHeaders = append(r.FromHeaders, ir.JWTHeader{Name: strings.ToLower(h.Name), Prefix: h.Prefix})
	}
	if len(r.FromHeaders) == 0 && len(r.FromParams) == 0 && len(r.FromCookies) == 0 {
		// Envoy's default locations (jwt_authn extractor.cc).
		r.FromHeaders = []ir.JWTHeader{{Name: "authorization", Prefix: "Bearer "}}
		r.FromParams = []string{"access_token"}
	}
	seen := map[string]int{}
	for j, ch := range s.OutputClaimToHeaders {
		h := strings.ToLower(ch.Header)
		if k, dup := seen[h]; dup {
			// Istio accepts it; gwc sets each header from one claim.
			c.errorc(codeUnsupported, res, fmt.Sprintf("%s.outputClaimToHeaders[%d].header", field, j),
				"give each claim its own header", "header %q is also set by outputClaimToHeaders[%d]", ch.Header, k)
			ok = false
		}
		seen[h] = j
		r.OutputClaimToHeaders = append(r.OutputClaimToHeaders, ir.ClaimToHeader{Header: h, Claim: ch.Claim})
	}
	if s.Issuer == "" && s.JWKSURI == "" {
		c.errorc(codeValidation, res, field, "set issuer to the tokens' iss claim",
			"issuer or jwksUri must be non-empty string")
		ok = false
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		switch {
		case err != nil || d < time.Millisecond:
			c.errorc(codeValidation, res, field+".timeout", "write a duration of at least 1ms, such as 5s",
				"timeout %q is not a valid duration", s.Timeout)
			ok = false
		case d%time.Millisecond != 0:
			// Istio's webhook (pkg/config/validation/agent ValidateDuration).
			c.errorc(codeValidation, res, field+".timeout", "round the duration to whole milliseconds, such as 1500ms",
				"timeout %q: only durations to ms precision are supported", s.Timeout)
			ok = false
		}
		r.Timeout = d
	}
	switch {
	case s.JWKS != "":
		if s.JWKSURI != "" {
			c.warnc(codeIgnored, res, field+".jwksUri", "remove jwksUri, or jwks to fetch the keys",
				"jwksUri is ignored: jwks is set, and istiod uses the inline keys")
		}
		if c.checkJWKS(res, field+".jwks", s.JWKS) {
			r.JWKS = s.JWKS
		} else {
			ok = false
		}
	case s.JWKSURI != "":
		if c.checkJWKSURI(res, field+".jwksUri", s.JWKSURI) {
			r.JWKSURI = s.JWKSURI
		} else {
			ok = false
		}
	default:
		// istiod discovers the key set from the issuer
		// (jwks_resolver.go resolveJwksURIUsingOpenID).
		u, err := url.Parse(s.Issuer)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			// istiod would fail to discover keys and refuse every token.
			c.errorc(codeUnsupported, res, field, "set jwksUri to the issuer's key set, or jwks to the keys",
				"no jwksUri or jwks, and issuer %q is not an http or https URL to discover the key set from: every token would be refused", s.Issuer)
			ok = false
			break
		}
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			c.warnc(diag.CodeInsecureJWKS, res, field+".issuer", "serve the issuer over https, or set jwksUri to an https URL",
				"the key set is discovered from %q over plain http: anyone on the path can replace the keys and sign tokens", s.Issuer)
		}
		r.DiscoveryURI = strings.TrimSuffix(s.Issuer, "/") + "/.well-known/openid-configuration"
	}
	return r, ok
}

// checkJWKSURI accepts what Istio's ParseJwksURI does: an http or https
// URL. Plain http is accepted, as Istio does, with a warning; a URL
// without a host, which Istio accepts, leaves gwc nothing to fetch.
func (c *compilation) checkJWKSURI(res *load.Resource, path, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		c.errorc(codeValidation, res, path, "write an https URL such as https://issuer.example.com/.well-known/jwks.json",
			"jwksUri %q is not an http or https URL", raw)
		return false
	}
	if u.Host == "" {
		c.errorc(codeUnsupported, res, path, "write an https URL with a host, such as https://issuer.example.com/.well-known/jwks.json",
			"jwksUri %q has no host: there is no key set to fetch", raw)
		return false
	}
	if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		c.warnc(diag.CodeInsecureJWKS, res, path, "serve the key set over https",
			"jwksUri %q is fetched over plain http: anyone on the path can replace the keys and sign tokens", raw)
	}
	return true
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// checkJWKS parses an inline key set with go-jose, as istiod's webhook
// parses it: every key must be one gwc can verify with (RSA, EC, OKP
// Ed25519); a private key is accepted with Istio's warning.
func (c *compilation) checkJWKS(res *load.Resource, path, raw string) bool {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		c.errorc(codeValidation, res, path, `write a JSON Web Key Set: {"keys": [...]}`, "jwks parse error: %v", err)
		return false
	}
	if len(doc.Keys) == 0 {
		// Istio accepts it, and its Envoy refuses every token.
		c.errorc(codeUnsupported, res, path, `list the public keys under "keys"`, "jwks has no keys: every token would be refused")
		return false
	}
	ok := true
	for i, k := range doc.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(k); err != nil {
			c.errorc(codeValidation, res, path, "check the key's kty and its fields (n and e, crv with x and y, or x)",
				"jwks parse error: key %d: %v", i, err)
			ok = false
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			c.warnc(codeValidationWarn, res, path, "publish only the public half of the key",
				"jwks key at index %d contains private key material; only public keys are used for verification", i)
		default:
			c.errorc(codeUnsupported, res, path, "sign the tokens with RS*, PS*, ES* or EdDSA and list their public keys",
				"jwks key %d is a symmetric key (kty oct): gwc verifies asymmetric signatures only", i)
			ok = false
		}
	}
	return ok
}

// warnClaimRoutes reports matches on JWT claims that can never hold: with
// no RequestAuthentication on the gateway no request has claims.
func (c *compilation) warnClaimRoutes() {
	if len(c.requestAuthns) > 0 {
		return
	}
	for _, vs := range c.vss {
		for i, rule := range vs.Spec.HTTP {
			for j, m := range rule.Match {
				for _, part := range []struct {
					field string
					hs    map[string]stringMatch
				}{{"headers", m.Headers}, {"withoutHeaders", m.WithoutHeaders}} {
					for _, name := range sortedKeys(part.hs) {
						if _, ok := claimHeader(name); !ok {
							continue
						}
						c.warnc(diag.CodeClaimNeverSet, vs, fmt.Sprintf("spec.http[%d].match[%d].%s[%q]", i, j, part.field, name),
							"add a RequestAuthentication whose tokens carry the claim (docs/security.md)",
							"no RequestAuthentication applies to the gateway: no request has the claim of %s, so this match never holds", name)
					}
				}
			}
		}
	}
}

// claimHeader recognises a header match on a JWT claim as Istio's
// jwt.ToRoutingClaim does: @request.auth.claims (in any case) then .a.b or
// [a][b]. It returns the name with the prefix in lower case and the claim
// names as written, which are case-sensitive.
func claimHeader(name string) (string, bool) {
	const prefix = "@request.auth.claims"
	if len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return "", false
	}
	rest := name[len(prefix):]
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && len(rest) > 2:
	default:
		return "", false
	}
	return prefix + rest, true
}

// headerMatchName is a match's header name as the IR holds it: lower case,
// but for the claim names of a JWT claim match, which are case-sensitive.
func headerMatchName(name string) string {
	if n, ok := claimHeader(name); ok {
		return n
	}
	return strings.ToLower(name)
}

// warnPolicyTargets reports a RequestAuthentication that, in a cluster,
// would not select this gateway's pods: gwc applies it to the gateway it
// builds all the same, where Istio would not.
func (c *compilation) warnPolicyTargets(w ir.Workload) {
	for _, ra := range c.requestAuthns {
		s := &ra.Spec
		if s.Selector != nil {
			var missing []string
			for _, k := range sortedKeys(s.Selector.MatchLabels) {
				v := s.Selector.MatchLabels[k]
				if !slices.ContainsFunc(w.Selector, func(l ir.Label) bool { return l.Key == k && l.Value == v }) {
					missing = append(missing, k+"="+v)
				}
			}
			if len(missing) > 0 {
				c.warnc(codeIgnored, ra, "spec.selector", "select the gateway's labels (its Gateways' selector), or leave the policy out of this gateway's input",
					"selector is ignored: gwc applies the policy to the gateway it builds, whose pods do not have %s, so Istio would not apply it there",
					strings.Join(missing, ", "))
			}
		}
		if s.TargetRef != nil || len(s.TargetRefs) > 0 {
			field := "spec.targetRefs"
			if s.TargetRef != nil {
				field = "spec.targetRef"
			}
			c.warnc(codeIgnored, ra, field, "use selector with the gateway's labels, or remove it",
				"%s is ignored: gwc applies the policy to the gateway it builds from Istio Gateways, whatever it names", field[len("spec."):])
		}
	}
}
