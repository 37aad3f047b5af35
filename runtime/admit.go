package runtime

import "net/http"

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
	// Claims is the verified token's payload (request.auth.claims).
	Claims map[string]any
}

// Authenticator verifies the JWTs a request carries. It is nil in Config
// unless the configuration has a RequestAuthentication; its implementation
// lives in a package generated code links only then.
type Authenticator interface {
	// Authenticate returns the identity r's token proves, nil when r
	// carries no token, or an error when a token is present and invalid:
	// the request is then refused with 401.
	Authenticate(r *http.Request) (*Identity, error)
}

// admit runs the gateway's admission steps before the request is routed,
// in the order of the HTTP filters istiod configures on a gateway (jwt_authn,
// then rbac), so a refused request never reaches route matching. It reports
// whether the request goes on; when it does not, it has answered.
func (h *listenerHandler) admit(w http.ResponseWriter, r *http.Request) bool {
	if a := h.e.cfg.Authn; a != nil {
		id, err := a.Authenticate(r)
		if err != nil {
			noteDetails(w, "jwt_authn_access_denied")
			w.Header()["Www-Authenticate"] = []string{`Bearer realm="http://` + r.Host + r.URL.Path + `", error="invalid_token"`}
			localReply(w, http.StatusUnauthorized, "Jwt verification fails", false)
			return false
		}
		if x := exchangeOf(w); x != nil {
			x.identity = id
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
