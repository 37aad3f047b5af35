package runtime

import (
	"fmt"
	"net/http"
	"strings"
)

// JWT claims in route matches: a VirtualService header named
// @request.auth.claims.<name> (nested with '.', or [a][b]) matches the
// claim of the request's verified token, as istiod turns it into a
// dynamic-metadata matcher on jwt_authn's payload (route.go
// translateMetadataMatch, authz/matcher MetadataListMatcher): a string
// claim matches the StringMatch, a list claim when one of its strings does;
// a request without a token, or without the claim, never matches.

const claimPrefix = "@request.auth.claims"

// claimNames splits a claim match's header name as Istio's
// jwt.ToRoutingClaim does: the prefix in any case, then ".a.b" or "[a][b]".
func claimNames(name string) ([]string, bool) {
	if len(name) < len(claimPrefix) || !strings.EqualFold(name[:len(claimPrefix)], claimPrefix) {
		return nil, false
	}
	rest := name[len(claimPrefix):]
	switch {
	case strings.HasPrefix(rest, ".") && len(rest) > 1:
		return strings.Split(rest[1:], "."), true
	case strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && len(rest) > 2:
		return strings.Split(rest[1:len(rest)-1], "]["), true
	}
	return nil, false
}

// claimMatches applies the condition to the claim. MatchAny asks for the
// claim to be present.
func (h *HeaderMatch) claimMatches(r *http.Request) bool {
	id := IdentityOf(r)
	if id == nil {
		return false
	}
	v, ok := claimAt(id.Claims, h.key)
	if !ok {
		return false
	}
	if h.Match.Kind == MatchAny {
		return true
	}
	switch v := v.(type) {
	case string:
		return h.Match.MatchString(v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && h.Match.MatchString(s) {
				return true
			}
		}
	}
	return false
}

// claimAt walks the NUL-separated claim names into the payload.
func claimAt(claims map[string]any, path string) (any, bool) {
	var cur any = claims
	for {
		name, rest, more := strings.Cut(path, "\x00")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[name]; !ok {
			return nil, false
		}
		if !more {
			return cur, true
		}
		path = rest
	}
}

// describeClaim says why a claim condition failed, for explain.
func describeClaim(h *HeaderMatch, r *http.Request) string {
	id := IdentityOf(r)
	if id == nil {
		return "no verified JWT: the request has no claims"
	}
	v, ok := claimAt(id.Claims, h.key)
	if !ok {
		return "the token has no such claim"
	}
	return fmt.Sprintf("claim %v does not match %s", v, describeCondition(h.Match, true))
}
