package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

// outcome is what the gateway does with one request, read off the
// compiled tables by the runtime's own lookups and matchers, in the order
// `gwc explain` walks them: listener by port, TLS server or connection
// route by SNI, virtual host by Host, httpsRedirect, first matching route.
// `gwc test` checks it against expectations and `gwc diff` compares it
// between two configurations.
type outcome struct {
	Listener string `json:"listener,omitempty"`
	Host     string `json:"host,omitempty"`
	// Rule is the ID (file:line:col namespace/name field) of the route
	// or connection route that took the request.
	Rule string `json:"rule,omitempty"`
	// Status is the gateway's own answer (redirect, direct response, 404);
	// 0 when the request is forwarded.
	Status   int    `json:"status,omitempty"`
	Location string `json:"location,omitempty"`
	// Reason says why nothing forwarded the request.
	Reason string `json:"reason,omitempty"`
	// Connection is set when the connection is forwarded whole.
	Connection   bool          `json:"connection,omitempty"`
	Destinations []destination `json:"destinations,omitempty"`
	Path         string        `json:"path,omitempty"`
	Authority    string        `json:"authority,omitempty"`
	// RequestHeaders and ResponseHeaders are the route's operations.
	RequestHeaders  headerOps `json:"requestHeaders,omitzero"`
	ResponseHeaders headerOps `json:"responseHeaders,omitzero"`
	Mirrors         []string  `json:"mirrors,omitempty"`
	Timeout         string    `json:"timeout,omitempty"`
	Retries         *retries  `json:"retries,omitempty"`
	Fault           string    `json:"fault,omitempty"`
	// Action is the runtime's description of the route's action.
	Action string `json:"action,omitempty"`
	// Authz says which AuthorizationPolicy rule decided, when there are
	// policies.
	Authz string `json:"authz,omitempty"`

	rt *runtime.Route
}

type destination struct {
	Cluster string `json:"cluster"`
	Weight  uint32 `json:"weight"`
	// Authority is the upstream authority where this destination's differs
	// from the route's; RequestHeaders and ResponseHeaders are the
	// destination's own operations (before the route's, or after them for
	// a rule with one destination).
	Authority       string    `json:"authority,omitempty"`
	RequestHeaders  headerOps `json:"requestHeaders,omitzero"`
	ResponseHeaders headerOps `json:"responseHeaders,omitzero"`
}

// headerOps are header operations as "name: value" (Set, Add) and names.
type headerOps struct {
	Set    []string `json:"set,omitempty"`
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

type retries struct {
	Attempts      int    `json:"attempts"`
	PerTryTimeout string `json:"perTryTimeout,omitempty"`
	RetryOn       string `json:"retryOn,omitempty"`
}

// testHTTPRequest builds the request a listener would hand over, and the
// listener port it reaches.
func testHTTPRequest(r testRequest) (*http.Request, int, error) {
	scheme := r.Scheme
	if scheme == "" {
		scheme = "http"
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, 0, fmt.Errorf("path %q: %v", r.Path, err)
	}
	if len(r.Query) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(r.Query) {
			q.Add(k, r.Query[k])
		}
		u.RawQuery = q.Encode()
	}
	src := r.SourceAddress
	if src == "" {
		src = "127.0.0.1"
	}
	req := &http.Request{
		Method: method, URL: u, Host: r.Authority, Header: http.Header{},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		RequestURI: u.RequestURI(), RemoteAddr: net.JoinHostPort(src, "40000"),
	}
	for _, k := range sortedKeys(r.Headers) {
		req.Header.Add(k, r.Headers[k])
	}
	if scheme == "https" || scheme == "tls" {
		sni := r.SNI
		if sni == "" {
			sni = r.Authority
			if h, _, err := net.SplitHostPort(sni); err == nil {
				sni = h
			}
		}
		req.TLS = &tls.ConnectionState{ServerName: sni}
	}
	port := r.Port
	if port == 0 {
		def := "http"
		if req.TLS != nil {
			def = "https"
		}
		port = requestPort(r.Authority, def)
	}
	return req, port, nil
}

// resolve runs the tables on req arriving on port.
func resolve(rc *runtime.Config, req *http.Request, port int) outcome {
	var o outcome
	li := slices.IndexFunc(rc.Listeners, func(l runtime.Listener) bool { return l.Port == port })
	if li < 0 {
		var ports []string
		for _, l := range rc.Listeners {
			ports = append(ports, strconv.Itoa(l.Port))
		}
		o.Reason = fmt.Sprintf("no listener on port %d (the gateways serve %s)", port, strings.Join(ports, ", "))
		return o
	}
	l := &rc.Listeners[li]
	o.Listener = net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)) + " " + l.Protocol
	sni := ""
	if req.TLS != nil {
		sni = req.TLS.ServerName
	}
	if len(l.L4) > 0 || strings.EqualFold(l.Protocol, "TCP") || strings.EqualFold(l.Protocol, "TLS") {
		if ri := l.L4RouteFor(sni); ri >= 0 {
			o.connection(rc, &l.L4[ri])
			return o
		}
		if len(l.TLS) == 0 {
			o.Reason = fmt.Sprintf("no connection route for server name %q: the connection is closed", sni)
			return o
		}
	}
	tlsServer := -1
	if len(l.TLS) > 0 {
		if req.TLS == nil {
			o.Reason = "the listener terminates TLS: a plaintext request fails the handshake"
			return o
		}
		if tlsServer = l.TLSServerFor(sni); tlsServer < 0 {
			o.Reason = fmt.Sprintf("no TLS server for server name %q: the handshake fails", sni)
			return o
		}
		if r := l.TLS[tlsServer].TCP; r != nil {
			o.connection(rc, r)
			return o
		}
	}
	if rc.Authz != nil {
		// Before routing, as the gateway runs its policies.
		d := rc.Authorize(req, port, tokenIdentity(rc, req))
		o.Authz = d.Describe()
		if !d.Allowed {
			o.Status, o.Reason = authzStatus(d), d.Describe()
			return o
		}
	}
	vi := l.Hosts.Lookup(req.Host)
	if vi < 0 || int(vi) >= len(l.VirtualHosts) {
		o.Status, o.Reason = http.StatusNotFound, fmt.Sprintf("no virtual host for Host %q on port %d", req.Host, port)
		return o
	}
	vh := &l.VirtualHosts[vi]
	o.Host = vh.Domain
	if tlsServer >= 0 && !slices.Contains(vh.TLSServers, tlsServer) {
		o.Status, o.Reason = http.StatusNotFound, "the host belongs to another TLS server's route table"
		return o
	}
	if status, location := vh.HTTPSRedirect(req); status != 0 {
		o.Status, o.Location, o.Reason = status, location, "httpsRedirect: plaintext requests go to https"
		return o
	}
	ri := vh.Select(req)
	if ri < 0 {
		o.Status, o.Reason = http.StatusNotFound, "no route matches"
		return o
	}
	o.takeRoute(rc, &vh.Routes[ri], req)
	return o
}

func (o *outcome) connection(rc *runtime.Config, r *runtime.L4Route) {
	o.Rule, o.Connection = r.ID, true
	for _, wc := range r.Clusters {
		o.Destinations = append(o.Destinations, destination{Cluster: rc.Clusters[wc.Cluster].Name, Weight: wc.Weight})
	}
}

func (o *outcome) takeRoute(rc *runtime.Config, rt *runtime.Route, req *http.Request) {
	o.rt = rt
	o.Rule = rt.ID
	o.Action = describeAction(rc, rt)
	o.RequestHeaders = ops(rt.RequestHeaders)
	o.ResponseHeaders = ops(rt.ResponseHeaders)
	if f := rt.Fault; f != nil {
		var parts []string
		if f.Delay > 0 {
			parts = append(parts, fmt.Sprintf("delay %s at %v%%", f.Delay, f.DelayPercent))
		}
		if f.AbortStatus > 0 {
			parts = append(parts, fmt.Sprintf("abort %d at %v%%", f.AbortStatus, f.AbortPercent))
		} else if f.AbortGRPC >= 0 {
			parts = append(parts, fmt.Sprintf("abort grpc-status %d at %v%%", f.AbortGRPC, f.AbortPercent))
		}
		o.Fault = strings.Join(parts, ", ")
	}
	switch {
	case rt.Redirect != nil:
		o.Status, o.Location = rt.Redirect.Code, rt.Redirect.Location(req)
		return
	case rt.DirectResponse != nil:
		o.Status = rt.DirectResponse.Status
		return
	}
	o.Path = req.URL.Path
	o.Authority = rt.UpstreamAuthority(req.Host, nil)
	if rw := rt.Rewrite; rw != nil {
		if p := rw.RewrittenPath(req); p != "" {
			o.Path = p
		}
	}
	for _, wc := range rt.Clusters {
		d := destination{Cluster: rc.Clusters[wc.Cluster].Name, Weight: wc.Weight,
			RequestHeaders: ops(wc.RequestHeaders), ResponseHeaders: ops(wc.ResponseHeaders)}
		if a := rt.UpstreamAuthority(req.Host, &wc); a != o.Authority {
			d.Authority = a
		}
		o.Destinations = append(o.Destinations, d)
	}
	for _, m := range rt.Mirrors {
		o.Mirrors = append(o.Mirrors, fmt.Sprintf("%s at %v%%", rc.Clusters[m.Cluster].Name, m.Percent))
	}
	o.Timeout = rt.Timeout.String()
	p := rt.Retry
	if p == nil {
		// Istio's default policy, as the runtime applies it.
		p = &runtime.RetryPolicy{Attempts: 2, On: []string{"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"}}
	}
	o.Retries = &retries{Attempts: p.Attempts, RetryOn: strings.Join(p.On, ",")}
	if p.PerTryTimeout > 0 {
		o.Retries.PerTryTimeout = p.PerTryTimeout.Round(time.Millisecond).String()
	}
}

func ops(h runtime.HeaderOps) headerOps {
	var o headerOps
	for _, v := range h.Set {
		o.Set = append(o.Set, v.Name+": "+v.Value)
	}
	for _, v := range h.Add {
		o.Add = append(o.Add, v.Name+": "+v.Value)
	}
	o.Remove = append(o.Remove, h.Remove...)
	return o
}

// summary is the outcome on one line: where the request goes or what the
// gateway answers.
func (o *outcome) summary() string {
	switch {
	case o.Reason != "" && o.Status != 0 && o.Location != "":
		return fmt.Sprintf("%d to %s (%s)", o.Status, o.Location, o.Reason)
	case o.Reason != "" && o.Status != 0:
		return fmt.Sprintf("%d (%s)", o.Status, o.Reason)
	case o.Reason != "":
		return o.Reason
	case o.Status != 0 && o.Location != "":
		return fmt.Sprintf("%d to %s", o.Status, o.Location)
	case o.Status != 0:
		return fmt.Sprintf("%d direct response", o.Status)
	}
	var dests []string
	for _, d := range o.Destinations {
		dests = append(dests, fmt.Sprintf("%s (%d)", d.Cluster, d.Weight))
	}
	s := "-> " + strings.Join(dests, ", ")
	if o.Connection {
		return "connection " + s
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
