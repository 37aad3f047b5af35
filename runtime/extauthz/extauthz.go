// Package extauthz is the external authorizer of CUSTOM AuthorizationPolicies:
// Envoy's ext_authz filter as istiod configures it from a meshConfig
// extensionProviders entry, speaking either of Envoy's two protocols, so
// that existing authorizers (OPA's Envoy plugin, oauth2-proxy, any
// envoy.service.auth.v3 server) work unchanged:
//
//   - envoyExtAuthzHttp: the request's method, path (after pathPrefix),
//     Host, Authorization and the headers includeRequestHeadersInCheck
//     names go to the authorizer without a body; 200 allows, any other
//     status is the client's answer.
//     https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_authz/v3/ext_authz.proto#extensions-filters-http-ext-authz-v3-httpservice
//   - envoyExtAuthzGrpc: envoy.service.auth.v3.Authorization/Check with the
//     request's attributes; an OK status allows, with the headers the
//     response sets; a denial carries the client's status, headers and body.
//
// Generated code imports it only when a CUSTOM policy exists, so an ingress
// without one links neither gRPC's client nor Envoy's protos for it.
package extauthz

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

// Spec is a provider as the generated code holds it.
type Spec struct {
	// Provider is the extension provider's name, for logs.
	Provider string
	// GRPC selects envoyExtAuthzGrpc; otherwise envoyExtAuthzHttp.
	GRPC bool
	// Endpoint is the provider's service:port.
	Endpoint string
	// Timeout bounds each check (Istio's default: 600s).
	Timeout time.Duration
	// FailOpen lets a request through when the authorizer cannot be
	// reached or fails; otherwise it is answered StatusOnError.
	FailOpen      bool
	StatusOnError int
	// The HTTP provider's fields. Header lists are Istio's forms, matched
	// ignoring case: exact, "prefix*", "*suffix", "*".
	PathPrefix                 string
	IncludeRequestHeaders      []string
	AdditionalHeaders          []Header
	HeadersToUpstreamOnAllow   []string
	HeadersToDownstreamOnAllow []string
	// HeadersToDownstreamOnDeny: none means every header of the denial.
	HeadersToDownstreamOnDeny []string
}

// Header is one includeAdditionalHeadersInCheck entry.
type Header struct{ Name, Value string }

// Client asks one provider.
type Client struct {
	spec Spec
	http *http.Client

	grpcOnce sync.Once
	grpc     *grpcClient
	grpcErr  error
}

var _ runtime.ExtAuthz = (*Client)(nil)

// New returns the client of s; nothing is dialled before the first check.
func New(s Spec) *Client {
	return &Client{spec: s, http: &http.Client{
		// The authorizer's redirect is the client's answer (oauth2-proxy
		// sends a login redirect), never followed here.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Spec returns the client's provider, for the generated source.
func (c *Client) Spec() Spec { return c.spec }

// Check implements runtime.ExtAuthz.
func (c *Client) Check(w http.ResponseWriter, r *http.Request) bool {
	if c.spec.GRPC {
		return c.checkGRPC(w, r)
	}
	return c.checkHTTP(w, r)
}

// failed answers a request that met the authorizer failing: through when
// the provider fails open, else StatusOnError (Envoy's 403 by default),
// flagged UAEX with details ext_authz_error.
func (c *Client) failed(w http.ResponseWriter) bool {
	if c.spec.FailOpen {
		return true
	}
	runtime.MarkExtAuthz(w, "ext_authz_error")
	status := c.spec.StatusOnError
	if status == 0 {
		status = http.StatusForbidden
	}
	w.Header()["Server"] = []string{"istio-envoy"}
	w.WriteHeader(status)
	return false
}

// matchName reports whether a header name matches one of Istio's forms.
func matchName(patterns []string, name string) bool {
	name = strings.ToLower(name)
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == "*":
			return true
		case strings.HasPrefix(p, "*"):
			if strings.HasSuffix(name, p[1:]) {
				return true
			}
		case strings.HasSuffix(p, "*"):
			if strings.HasPrefix(name, p[:len(p)-1]) {
				return true
			}
		case p == name:
			return true
		}
	}
	return false
}
