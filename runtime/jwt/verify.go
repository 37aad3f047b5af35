package jwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/runtime"
)

// algorithms are the signature algorithms tokens may use: the asymmetric
// ones Envoy's jwt_verify supports. HS* (shared secrets) and "none" are
// refused as not supported.
var algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// clockSkew is Envoy's default clock_skew_seconds, which Istio keeps.
const clockSkew = 60 * time.Second

// The statuses of jwt_verify (source/common/jwt/status.cc) a token can
// fail with here: the reply's body and response code details.
const (
	statusBadFormat      = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
	statusHeaderBase64   = "Jwt header is an invalid Base64url encoded"
	statusHeaderJSON     = "Jwt header is an invalid JSON"
	statusHeaderBadAlg   = "Jwt header [alg] field is required and must be a string"
	statusAlgUnsupported = "Jwt header [alg] is not supported"
	statusHeaderBadKid   = "Jwt header [kid] field is not a string"
	statusPayloadBase64  = "Jwt payload is an invalid Base64url encoded"
	statusPayloadJSON    = "Jwt payload is an invalid JSON"
	statusIssNotString   = "Jwt payload [iss] field is not a string"
	statusSubNotString   = "Jwt payload [sub] field is not a string"
	statusAudNotString   = "Jwt payload [aud] field is not a string or string list"
	statusSigBase64      = "Jwt signature is an invalid Base64url encoded"
	statusUnknownIssuer  = "Jwt issuer is not configured"
	statusExpired        = "Jwt is expired"
	statusNotYetValid    = "Jwt not yet valid"
	statusAudience       = "Audiences in Jwt are not allowed"
	statusFetchFailed    = "Jwks remote fetch is failed"
	statusKidAlgMismatch = "Jwks doesn't have key to match kid or alg from Jwt"
	statusVerification   = "Jwt verification fails"
)

func fail(reason string) *runtime.AuthnError {
	code := http.StatusUnauthorized
	if reason == statusAudience {
		code = http.StatusForbidden // Envoy answers JwtAudienceNotAllowed with 403
	}
	return &runtime.AuthnError{Status: code, Reason: reason}
}

// token is a verified JWT.
type token struct {
	iss, sub, azp string
	aud           []string
	// payload is the payload as the token carries it, base64url: Envoy's
	// forward_payload_header value.
	payload string
	claims  map[string]any
}

// decodeSegment decodes a base64url segment, padded or not.
func decodeSegment(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// verify checks raw against rule r in jwt_verify's order: the form, the
// issuer, the time constraints, the audiences, then the signature with
// the rule's keys (nil when its jwksUri was never fetched).
func verify(raw string, r *Rule, ks *keySet, now time.Time) (*token, *runtime.AuthnError) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fail(statusBadFormat)
	}
	hb, ok := decodeSegment(parts[0])
	if !ok {
		return nil, fail(statusHeaderBase64)
	}
	var hdr map[string]any
	if json.Unmarshal(hb, &hdr) != nil {
		return nil, fail(statusHeaderJSON)
	}
	alg, ok := hdr["alg"].(string)
	if !ok {
		return nil, fail(statusHeaderBadAlg)
	}
	supported := false
	for _, a := range algorithms {
		supported = supported || string(a) == alg
	}
	if !supported {
		return nil, fail(statusAlgUnsupported)
	}
	kid := ""
	if v, found := hdr["kid"]; found {
		if kid, ok = v.(string); !ok {
			return nil, fail(statusHeaderBadKid)
		}
	}
	pb, ok := decodeSegment(parts[1])
	if !ok {
		return nil, fail(statusPayloadBase64)
	}
	t, bad := parseClaims(pb)
	if bad != "" {
		return nil, fail(bad)
	}
	t.payload = parts[1]
	if _, ok := decodeSegment(parts[2]); !ok {
		return nil, fail(statusSigBase64)
	}
	if r.Issuer != "" && t.iss != r.Issuer {
		return nil, fail(statusUnknownIssuer)
	}
	if reason := checkTime(t.claims, now); reason != "" {
		return nil, fail(reason)
	}
	if len(r.Audiences) > 0 && !audienceAllowed(t.aud, r.Audiences) {
		return nil, fail(statusAudience)
	}
	if ks == nil {
		return nil, fail(statusFetchFailed)
	}
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fail(statusVerification)
	}
	matched := false
	for i := range ks.keys {
		k := &ks.keys[i]
		if kid != "" && k.KeyID != "" && kid != k.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		matched = true
		if _, err := jws.Verify(k.Key); err == nil {
			return t, nil
		}
	}
	if !matched {
		return nil, fail(statusKidAlgMismatch)
	}
	return nil, fail(statusVerification)
}

// parseClaims reads the payload: a JSON object whose registered claims
// have the types RFC 7519 gives them. Numbers keep their text.
func parseClaims(pb []byte) (*token, string) {
	d := json.NewDecoder(bytes.NewReader(pb))
	d.UseNumber()
	var claims map[string]any
	if d.Decode(&claims) != nil || claims == nil || d.More() {
		return nil, statusPayloadJSON
	}
	t := &token{claims: claims}
	var ok bool
	if v, found := claims["iss"]; found {
		if t.iss, ok = v.(string); !ok {
			return nil, statusIssNotString
		}
	}
	if v, found := claims["sub"]; found {
		if t.sub, ok = v.(string); !ok {
			return nil, statusSubNotString
		}
	}
	t.azp, _ = claims["azp"].(string)
	switch v := claims["aud"].(type) {
	case nil:
	case string:
		t.aud = []string{v}
	case []any:
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, statusAudNotString
			}
			t.aud = append(t.aud, s)
		}
	default:
		return nil, statusAudNotString
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, found := claims[name]; found {
			if _, ok := seconds(v); !ok {
				return nil, "Jwt payload [" + name + "] field is not an integer"
			}
		}
	}
	return t, ""
}

// seconds reads a NumericDate; jwt_verify takes integers only.
func seconds(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil && i >= 0
}

// checkTime applies exp and nbf with Envoy's clock skew.
func checkTime(claims map[string]any, now time.Time) string {
	unix := now.Unix()
	skew := int64(clockSkew / time.Second)
	if exp, ok := seconds(claims["exp"]); ok && exp > 0 && unix > exp+skew {
		return statusExpired
	}
	if nbf, ok := seconds(claims["nbf"]); ok && nbf > 0 && unix+skew < nbf {
		return statusNotYetValid
	}
	return ""
}

// audienceAllowed compares audiences as jwt_verify's CheckAudience does:
// without an http:// or https:// scheme and a trailing '/'.
func audienceAllowed(aud, allowed []string) bool {
	for _, a := range aud {
		for _, b := range allowed {
			if sanitizeAudience(a) == sanitizeAudience(b) {
				return true
			}
		}
	}
	return false
}

func sanitizeAudience(s string) string {
	s = strings.TrimPrefix(s, "http://")
	s = strings.TrimPrefix(s, "https://")
	return strings.TrimSuffix(s, "/")
}

// normalize splits the space-delimited claims, as Istio has Envoy write
// them to the request's metadata (normalize_payload_in_metadata): scope,
// permission and the rule's spaceDelimitedClaims, nested names with '.'.
func normalize(claims map[string]any, extra []string) {
	for _, name := range append([]string{"scope", "permission"}, extra...) {
		parent, key := claims, name
		for {
			head, rest, nested := strings.Cut(key, ".")
			if !nested {
				break
			}
			next, ok := parent[head].(map[string]any)
			if !ok {
				parent = nil
				break
			}
			parent, key = next, rest
		}
		if parent == nil {
			continue
		}
		if s, ok := parent[key].(string); ok {
			list := []any{}
			for _, f := range strings.Fields(s) {
				list = append(list, f)
			}
			parent[key] = list
		}
	}
}
