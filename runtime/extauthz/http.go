package extauthz

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

// maxDenialBody bounds the body of a denial relayed to the client.
const maxDenialBody = 64 << 10

// checkHTTP asks an envoyExtAuthzHttp provider: the request's method and
// path (after pathPrefix), its Host, and the headers Envoy always sends
// (Authorization) or the provider names, without the body.
func (c *Client) checkHTTP(w http.ResponseWriter, r *http.Request) bool {
	ctx, cancel := context.WithTimeout(r.Context(), c.timeout())
	defer cancel()
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+c.spec.Endpoint+c.spec.PathPrefix+uri, http.NoBody)
	if err != nil {
		return c.failed(w)
	}
	req.Host = r.Host
	for name, vs := range r.Header {
		if name == "Authorization" || matchName(c.spec.IncludeRequestHeaders, name) {
			req.Header[name] = vs
		}
	}
	for _, h := range c.spec.AdditionalHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.failed(w)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxDenialBody))
		for name, vs := range resp.Header {
			if matchName(c.spec.HeadersToUpstreamOnAllow, name) {
				r.Header[name] = vs
			}
			if matchName(c.spec.HeadersToDownstreamOnAllow, name) {
				w.Header()[name] = append(w.Header()[name], vs...)
			}
		}
		return true
	}
	// A denial: the authorizer's status, body and headers are the
	// client's answer (all of them unless headersToDownstreamOnDeny
	// names some).
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxDenialBody))
	h := w.Header()
	for name, vs := range resp.Header {
		switch name {
		case "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Date":
			continue
		}
		if len(c.spec.HeadersToDownstreamOnDeny) == 0 || matchName(c.spec.HeadersToDownstreamOnDeny, name) {
			h[name] = vs
		}
	}
	h["Server"] = []string{"istio-envoy"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	runtime.MarkExtAuthz(w, "ext_authz_denied")
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
	return false
}

// timeout bounds one check: the provider's, else Istio's default.
func (c *Client) timeout() time.Duration {
	if c.spec.Timeout > 0 {
		return c.spec.Timeout
	}
	return defaultTimeout
}

// defaultTimeout is Istio's default timeout of an ext_authz provider.
const defaultTimeout = 600 * time.Second
