package codegen

import (
	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports runtime/jwt when its configuration
	// has a RequestAuthentication. Importing it here also makes gwc
	// depend on it, so installing gwc puts go-jose in the module cache
	// and such a build needs no network.
	"github.com/gwc-dev/gwc/runtime/jwt"
)

// runtimeAuthn returns the authenticator of cfg's JWT rules, not started;
// nil without rules, as the generated Config.
func runtimeAuthn(cfg *ir.Config) *jwt.Authenticator {
	if len(cfg.JWTRules) == 0 {
		return nil
	}
	var s jwt.Spec
	for _, r := range cfg.JWTRules {
		rule := jwt.Rule{
			ID: r.Origin.String(), Issuer: r.Issuer, Audiences: r.Audiences, JWKS: r.JWKS, JWKSURI: r.JWKSURI,
			DiscoveryURI: r.DiscoveryURI,
			Timeout:      r.Timeout, FromParams: r.FromParams, FromCookies: r.FromCookies,
			OutputPayloadToHeader: r.OutputPayloadToHeader, ForwardOriginalToken: r.ForwardOriginalToken,
			SpaceDelimitedClaims: r.SpaceDelimitedClaims,
		}
		if r.JWKSURI == "" && r.DiscoveryURI == "" {
			rule.Timeout = 0
		}
		for _, h := range r.FromHeaders {
			rule.FromHeaders = append(rule.FromHeaders, jwt.Header{Name: h.Name, Prefix: h.Prefix})
		}
		for _, c := range r.OutputClaimToHeaders {
			rule.OutputClaimToHeaders = append(rule.OutputClaimToHeaders, jwt.ClaimHeader{Header: c.Header, Claim: c.Claim})
		}
		s.Rules = append(s.Rules, rule)
	}
	return jwt.New(s)
}
