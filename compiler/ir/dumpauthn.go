package ir

import (
	"strconv"
	"strings"
)

func dumpJWTRules(p func(int, string, ...any), rules []JWTRule) {
	for _, r := range rules {
		p(0, "jwt issuer %q", r.Issuer)
		p(1, "from %s", r.Origin)
		if len(r.Audiences) > 0 {
			p(1, "audiences %s", strings.Join(r.Audiences, ", "))
		}
		switch {
		case r.JWKS != "":
			p(1, "jwks inline (%d bytes)", len(r.JWKS))
		case r.JWKSURI != "":
			p(1, "jwksUri %s timeout %s", r.JWKSURI, r.Timeout)
		case r.DiscoveryURI != "":
			p(1, "jwks from OpenID discovery %s timeout %s", r.DiscoveryURI, r.Timeout)
		}
		var at []string
		for _, h := range r.FromHeaders {
			at = append(at, "header "+h.Name+" prefix "+strconv.Quote(h.Prefix))
		}
		for _, q := range r.FromParams {
			at = append(at, "param "+q)
		}
		for _, c := range r.FromCookies {
			at = append(at, "cookie "+c)
		}
		p(1, "tokens from %s", strings.Join(at, ", "))
		if r.OutputPayloadToHeader != "" {
			p(1, "payload to %s", r.OutputPayloadToHeader)
		}
		for _, c := range r.OutputClaimToHeaders {
			p(1, "claim %s to %s", c.Claim, c.Header)
		}
		if r.ForwardOriginalToken {
			p(1, "forward original token")
		}
		if len(r.SpaceDelimitedClaims) > 0 {
			p(1, "space-delimited claims %s", strings.Join(r.SpaceDelimitedClaims, ", "))
		}
	}
}
