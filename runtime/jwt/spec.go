// Package jwt verifies the JWTs of security.istio.io RequestAuthentication
// rules as Envoy's jwt_authn filter does at an Istio gateway: tokens taken
// from the rule's locations, signatures checked with go-jose against the
// rule's key set (inline, or fetched from jwksUri at start and every 20
// minutes, as istiod does), then issuer, time and audiences. Generated
// code links it, as Config.Authn, only when the configuration has a
// RequestAuthentication.
package jwt

import "time"

// Spec is the compiled RequestAuthentication of one gateway: every
// jwtRules entry of every RequestAuthentication that applies to it.
type Spec struct {
	// Rules are sorted by issuer, as istiod orders its providers.
	Rules []Rule
	// Refresh is how often a jwksUri is fetched again; 0 is istiod's
	// period, 20 minutes (PILOT_JWT_PUB_KEY_REFRESH_INTERVAL).
	Refresh time.Duration
}

// Rule is one jwtRules entry, with Istio's defaults filled in by the
// compiler.
type Rule struct {
	// ID names the rule's origin, e.g. "ra.yaml:7:5 istio-system/jwt jwtRules[0]".
	ID     string
	Issuer string
	// Audiences, when set, must include one of the token's aud.
	Audiences []string
	// JWKS is the inline key set, already checked at compile time.
	JWKS string
	// JWKSURI is fetched when JWKS is empty; Timeout bounds each fetch.
	JWKSURI string
	// DiscoveryURI, when JWKS and JWKSURI are empty, is the issuer's
	// OpenID configuration: its jwks_uri is fetched, as istiod does.
	DiscoveryURI string
	Timeout      time.Duration
	// FromHeaders, FromParams and FromCookies are where tokens are looked
	// for: "Authorization: Bearer" and access_token when the rule names
	// none (the compiler writes those defaults out).
	FromHeaders []Header
	FromParams  []string
	FromCookies []string
	// OutputPayloadToHeader receives the verified payload, base64url.
	OutputPayloadToHeader string
	// OutputClaimToHeaders copy single claims to headers.
	OutputClaimToHeaders []ClaimHeader
	// ForwardOriginalToken keeps the token for the upstream; otherwise it
	// is removed from its header or query parameter.
	ForwardOriginalToken bool
	// SpaceDelimitedClaims are split on spaces in the claims routes and
	// policies see, with scope and permission always.
	SpaceDelimitedClaims []string
}

// Header is a header a token is read from, after Prefix.
type Header struct {
	Name   string
	Prefix string
}

// ClaimHeader copies the claim Claim (nested with '.') to Header.
type ClaimHeader struct {
	Header string
	Claim  string
}
