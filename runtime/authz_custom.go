package runtime

import "net/http"

// ExtAuthz is the external authorizer of the gateway's CUSTOM
// AuthorizationPolicies: Envoy's ext_authz filter as istiod configures it
// from a meshConfig extensionProviders entry (envoyExtAuthzHttp or
// envoyExtAuthzGrpc). Package runtime/extauthz implements it; generated
// code sets Config.ExtAuthz only when a CUSTOM policy exists, so an ingress
// without one links none of Envoy's protos.
type ExtAuthz interface {
	// Check asks the authorizer about r. It returns true when r goes on
	// (with the headers the authorizer gave it); false when it answered
	// on w: the authorizer's denial, or, when the authorizer failed and
	// does not fail open, its statusOnError.
	Check(w http.ResponseWriter, r *http.Request) bool
}

// MarkExtAuthz records Envoy's response flag UAEX and the response code
// details (ext_authz_denied, ext_authz_error) of a request the external
// authorizer refused or that met it failing.
func MarkExtAuthz(w http.ResponseWriter, details string) {
	markFlag(w, flagUAEX)
	noteDetails(w, details)
}
