package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/jwt"
)

// explainJWT decodes the token a request carries at a RequestAuthentication
// rule's locations, so that routes on its claims are explained; the token
// is NOT verified (explain has no key set fetched and no clock to trust),
// and the output says so. It returns the request carrying the claims.
func explainJWT(w io.Writer, rc *runtime.Config, req *http.Request) *http.Request {
	a, ok := rc.Authn.(*jwt.Authenticator)
	if !ok {
		return req
	}
	id, rule, ok := a.Decode(req.Clone(req.Context()))
	if !ok {
		fmt.Fprintln(w, "jwt       no token at the RequestAuthentication's locations: the request goes on without claims")
		return req
	}
	fmt.Fprintf(w, "jwt       token for %s, NOT verified: its claims are decoded as if it were valid\n", rule.ID)
	fmt.Fprintf(w, "          principal %s\n", id.Principal)
	return runtime.WithIdentity(req, id)
}
