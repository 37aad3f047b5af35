package sdk

import (
	"net/http"
	"strings"
)

// Request is what a plugin sees of a request: everything but the body.
type Request struct {
	Method string `json:"method"`
	// Scheme is "http" or "https" as the client connected.
	Scheme string `json:"scheme"`
	// Host is the Host header (the :authority), port included if sent.
	Host string `json:"host"`
	// Path is the normalised path, without the query.
	Path string `json:"path"`
	// Query is the raw query string, without the "?".
	Query string `json:"query,omitempty"`
	// Headers are keyed as net/http keys them (canonical form).
	Headers http.Header `json:"headers,omitempty"`
	// ClientAddr is the downstream peer, "ip:port".
	ClientAddr string `json:"clientAddr"`
	// TLS is nil on a plaintext connection.
	TLS *TLSInfo `json:"tls,omitempty"`
	// Port is the gateway port the request arrived on.
	Port int `json:"port"`
	// Route is the ID of the route chosen, e.g.
	// "vs.yaml:14:7 shop/web http[0]".
	Route string `json:"route"`
}

// TLSInfo describes the downstream TLS connection.
type TLSInfo struct {
	ServerName string `json:"serverName,omitempty"`
	Version    string `json:"version,omitempty"`
	// PeerSubject and PeerSANs describe the client certificate, if any.
	PeerSubject string   `json:"peerSubject,omitempty"`
	PeerSANs    []string `json:"peerSANs,omitempty"`
}

// Response is what a response hook sees of the upstream's response.
type Response struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers,omitempty"`
}

// Verdict is a plugin's decision.
type Verdict int

const (
	// VerdictContinue lets the request (or response) through, with the
	// action's header mutations applied.
	VerdictContinue Verdict = iota
	// VerdictDeny answers the request with Status (403 if unset),
	// Headers and Body; later plugins and the upstream never see it.
	VerdictDeny
	// VerdictRedirect answers with Status (302 if unset) and Location.
	VerdictRedirect
)

// Action is a plugin's answer to a hook.
type Action struct {
	Verdict Verdict `json:"verdict,omitempty"`

	// SetHeaders replaces these headers (of the request in OnRequest, of
	// the response in OnResponse) on continue; on deny and redirect they
	// are the local reply's headers.
	SetHeaders map[string]string `json:"setHeaders,omitempty"`
	// RemoveHeaders deletes headers on continue.
	RemoveHeaders []string `json:"removeHeaders,omitempty"`

	// Status, Body and Location make the local reply of a deny or
	// redirect.
	Status   int    `json:"status,omitempty"`
	Body     string `json:"body,omitempty"`
	Location string `json:"location,omitempty"`
}

// Continue lets the request through unchanged.
func Continue() Action { return Action{} }

// Deny answers the request with status and body.
func Deny(status int, body string) Action {
	return Action{Verdict: VerdictDeny, Status: status, Body: body}
}

// Redirect answers the request with a redirect to location; status 0 means
// 302.
func Redirect(status int, location string) Action {
	return Action{Verdict: VerdictRedirect, Status: status, Location: location}
}

// SetHeader returns a with header name set to value.
func (a Action) SetHeader(name, value string) Action {
	if a.SetHeaders == nil {
		a.SetHeaders = map[string]string{}
	}
	a.SetHeaders[name] = value
	return a
}

// Header returns the first value of header name, case-insensitively.
func (r *Request) Header(name string) string {
	if v := r.Headers.Get(name); v != "" {
		return v
	}
	for k, vs := range r.Headers {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
