package runtime

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Identity is what request authentication (security.istio.io
// RequestAuthentication, Envoy's jwt_authn filter under Istio) established
// about a request's end user. A request without a token has none.
type Identity struct {
	// Principal is Istio's request principal, "<iss>/<sub>"
	// (request.auth.principal).
	Principal string
	// Audiences are the token's aud (request.auth.audiences).
	Audiences []string
	// Presenter is the token's azp (request.auth.presenter).
	Presenter string
	// Claims is the verified token's payload (request.auth.claims), as
	// Envoy writes it to the request's metadata: the space-delimited
	// claims (scope, permission and the rule's spaceDelimitedClaims) split
	// into lists.
	Claims map[string]any
}

// Authenticator verifies the JWTs a request carries. It is nil in Config
// unless the configuration has a RequestAuthentication; its implementation
// lives in a package generated code links only then (runtime/jwt).
type Authenticator interface {
	// Authenticate returns the identity r's token proves, nil when r
	// carries no token, or an error when a token is present and invalid:
	// the request is then refused, with the status and reason of an
	// *AuthnError (401 "Jwt verification fails" for any other error).
	// It may change r's headers and query as the rules say (the token
	// removed, the payload and claims written to headers).
	Authenticate(r *http.Request) (*Identity, error)
}

// AuthnStarter is implemented by an Authenticator that works beside the
// listeners (fetching remote key sets): Run starts it before the listeners
// serve, so readiness waits for its first fetches, and stops it after the
// drain. A failed fetch is logged, never fatal: tokens it would verify are
// refused until a fetch succeeds.
type AuthnStarter interface {
	Start(log *slog.Logger)
	Stop()
}

// AuthnError is an Authenticator's refusal of a token, as Envoy's jwt_authn
// filter words it.
type AuthnError struct {
	// Status is 401, or 403 for a token whose audiences are not allowed.
	Status int
	// Reason is jwt_verify's status text ("Jwt is expired"): the body of
	// the reply and, spaces as '_', the response code details.
	Reason string
}

func (e *AuthnError) Error() string { return e.Reason }

// identityKey is the context key of the request's *Identity, for the route
// matchers of JWT claims (Envoy's dynamic metadata of jwt_authn).
type identityKey struct{}

// IdentityOf returns the identity request authentication established for
// r, nil if none.
func IdentityOf(r *http.Request) *Identity {
	id, _ := r.Context().Value(identityKey{}).(*Identity)
	return id
}

// WithIdentity returns r carrying id, as admit leaves it for the route
// matchers; `gwc explain` uses it to match claims of a token it decoded.
func WithIdentity(r *http.Request, id *Identity) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// admit runs the gateway's admission steps before the request is routed,
// in the order of the HTTP filters istiod configures on a gateway (jwt_authn,
// then rbac), so a refused request never reaches route matching. It reports
// whether the request goes on; when it does not, it has answered.
func (h *listenerHandler) admit(w http.ResponseWriter, r *http.Request) bool {
	if a := h.e.cfg.Authn; a != nil {
		id, err := a.Authenticate(r)
		if err != nil {
			refuseToken(w, r, err)
			return false
		}
		if id != nil {
			// The request is the listener's to change: the claims
			// travel on it to the authorization step and the route
			// matchers (the engine gives the next request on the
			// connection a fresh context).
			*r = *WithIdentity(r, id)
		}
	}
	if z := h.e.cfg.Authz; z != nil && !h.authorize(w, r, z) {
		return false
	}
	if h.l.RateLimited && !h.rateLimit(w, r) {
		return false
	}
	return true
}

// refuseToken answers a request whose token failed as Envoy's jwt_authn
// filter does (filter.cc onComplete): the status text as the body, a
// www-authenticate challenge naming the request's URI, and the response
// code details jwt_authn_access_denied{<status text, spaces as '_'>}.
func refuseToken(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := http.StatusUnauthorized, "Jwt verification fails"
	var ae *AuthnError
	if errors.As(err, &ae) {
		code, reason = ae.Status, ae.Reason
	}
	noteDetails(w, "jwt_authn_access_denied{"+strings.Join(strings.Fields(reason), "_")+"}")
	w.Header()["Www-Authenticate"] = []string{`Bearer realm="` + originalURI(r) + `", error="invalid_token"`}
	localReply(w, code, reason, false)
}

// maxRealmPath is Envoy's MaximumUriLength for the realm's path.
const maxRealmPath = 256

// originalURI is Envoy's Utility::buildOriginalUri: the scheme the gateway
// saw, the Host, and the path with its query, cut at 256 bytes.
func originalURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := r.URL.RequestURI()
	if r.RequestURI != "" {
		p = r.RequestURI
	}
	if len(p) > maxRealmPath {
		p = p[:maxRealmPath]
	}
	return scheme + "://" + r.Host + p
}
