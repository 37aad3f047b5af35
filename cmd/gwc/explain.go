package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/jwt"
)

// gwc explain: which listener, virtual host, route and destination a
// request takes, and why each earlier route did not match. It runs the
// runtime's own host lookup and matchers over the compiled tables.

// headerFlags collects repeated -H 'name: value' flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("explain", "[-H 'name: value']... "+inputSynopsis+" PATH... 'METHOD URL'")
	var headers headerFlags
	fs.Var(&headers, "H", "a request `HEADER` as 'name: value' (repeatable)")
	input := addInputFlags(fs)
	args, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, "gwc explain: want PATH... and a request such as 'GET http://shop.example.com/api'")
		return 2
	}
	req, err := parseRequest(args[len(args)-1], headers)
	if err != nil {
		fmt.Fprintf(stderr, "gwc explain: %v\n", err)
		return 2
	}
	opts, ok := input.options(stderr, "explain")
	if !ok {
		return 2
	}
	irc, rc, code := compiledTablesWith(args[:len(args)-1], opts, stderr)
	if rc == nil {
		return code
	}
	explain(stdout, irc, rc, req)
	return 0
}

// parseRequest reads "METHOD URL" (or a URL alone, for GET) into a request
// as a listener would receive it.
func parseRequest(s string, headers []string) (*http.Request, error) {
	method, target := "GET", strings.TrimSpace(s)
	if m, rest, ok := strings.Cut(target, " "); ok {
		method, target = m, strings.TrimSpace(rest)
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("request %q: want METHOD http://HOST/PATH", s)
	}
	req := &http.Request{
		Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery, ForceQuery: u.ForceQuery},
		Host: u.Host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		RequestURI: u.RequestURI(), RemoteAddr: "127.0.0.1:1",
	}
	if u.Scheme == "https" {
		// As the listener hands it over: terminated, for this server name.
		req.TLS = &tls.ConnectionState{ServerName: u.Hostname()}
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("header %q: want 'name: value'", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "host") {
			req.Host = value
			continue
		}
		req.Header.Add(name, value)
	}
	return req, nil
}

// requestPort is the listener port a URL reaches: its port, or the
// scheme's default.
func requestPort(host, scheme string) int {
	if _, p, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
	}
	if scheme == "https" {
		return 443
	}
	return 80
}

func explain(w io.Writer, irc *ir.Config, rc *runtime.Config, req *http.Request) {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	port := requestPort(req.Host, scheme)
	fmt.Fprintf(w, "request   %s %s://%s%s\n", req.Method, scheme, req.Host, req.URL.RequestURI())
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		fmt.Fprintf(w, "          %s: %s\n", k, strings.Join(req.Header[k], ","))
	}
	found := false
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		if l.Port != port {
			continue
		}
		found = true
		fmt.Fprintf(w, "listener  %s %s\n", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		if len(l.L4) > 0 || strings.EqualFold(l.Protocol, "TCP") || strings.EqualFold(l.Protocol, "TLS") {
			sni := ""
			if req.TLS != nil {
				sni = req.TLS.ServerName
			}
			if ri := l.L4RouteFor(sni); ri >= 0 {
				fmt.Fprintf(w, "result    the connection is forwarded whole: %s\n", describeL4(rc, &l.L4[ri]))
				continue
			}
			if len(l.TLS) == 0 {
				fmt.Fprintf(w, "result    no connection route for server name %q: the connection is closed\n", sni)
				continue
			}
		}
		tlsServer := -1
		if len(l.TLS) > 0 {
			if req.TLS == nil {
				fmt.Fprintln(w, "result    the listener terminates TLS: a plaintext request fails the handshake (use an https URL)")
				continue
			}
			if tlsServer = l.TLSServerFor(req.TLS.ServerName); tlsServer < 0 {
				fmt.Fprintf(w, "tls       no server for server name %q: the handshake fails\n", req.TLS.ServerName)
				continue
			}
			fmt.Fprintf(w, "tls       %s (%s)\n", l.TLS[tlsServer].ID, l.TLS[tlsServer].Mode)
			if r := l.TLS[tlsServer].TCP; r != nil {
				fmt.Fprintf(w, "result    the decrypted stream is forwarded whole: %s\n", describeL4(rc, r))
				continue
			}
		}
		// Request authentication, then the policies, before routing, as
		// the gateway admits a request.
		req := explainJWT(w, rc, req)
		if rc.Authz != nil && !explainAuthz(w, rc, req, l.Port) {
			continue
		}
		vi := l.Hosts.Lookup(req.Host)
		if vi < 0 || int(vi) >= len(l.VirtualHosts) {
			var domains []string
			for _, vh := range l.VirtualHosts {
				domains = append(domains, vh.Domain)
			}
			fmt.Fprintf(w, "vhost     none for Host %q (this port serves %s)\n", req.Host, strings.Join(domains, ", "))
			fmt.Fprintln(w, "result    404, no virtual host")
			continue
		}
		vh := &l.VirtualHosts[vi]
		fmt.Fprintf(w, "vhost     %s\n", vh.Domain)
		if rl := vh.RateLimit; rl != nil {
			fmt.Fprintf(w, "ratelimit %d per %s, burst %d, from %s (past it: 429 local_rate_limited)\n", rl.Requests, rl.Interval, rl.Burst, rl.ID)
		}
		for _, s := range irc.Listeners[li].VirtualHosts[vi].Servers {
			fmt.Fprintf(w, "server    %s\n", s)
		}
		if tlsServer >= 0 && !slices.Contains(vh.TLSServers, tlsServer) {
			fmt.Fprintln(w, "result    404, the host belongs to another server's route table")
			continue
		}
		if status, location := vh.HTTPSRedirect(req); status != 0 {
			fmt.Fprintf(w, "result    %d, httpsRedirect: plaintext requests go to https\n", status)
			fmt.Fprintf(w, "location  %s\n", location)
			continue
		}
		chosen := vh.Select(req)
		for ri := range vh.Routes {
			rt := &vh.Routes[ri]
			if ri == chosen {
				fmt.Fprintf(w, "route %-3d %s\n          MATCHES %s\n", ri, rt.ID, describeMatches(rc, rt))
				break
			}
			fmt.Fprintf(w, "route %-3d %s\n", ri, rt.ID)
			for mi := range rt.Matches {
				fmt.Fprintf(w, "          no: %s\n", rt.Matches[mi].Mismatch(req))
			}
		}
		if chosen < 0 {
			fmt.Fprintln(w, "result    404, no route matches")
			continue
		}
		rt := &vh.Routes[chosen]
		explainPlugins(w, chainSpecs(rc), l.Port, req.Host, rt)
		fmt.Fprintf(w, "result    %s\n", describeAction(rc, rt))
		if rt.Redirect != nil {
			fmt.Fprintf(w, "location  %s\n", rt.Redirect.Location(req))
		}
		if rt.Rewrite != nil && rt.Redirect == nil && rt.DirectResponse == nil {
			if p := rt.Rewrite.RewrittenPath(req); p != "" {
				fmt.Fprintf(w, "upstream  path %s\n", p)
			}
		}
	}
	if !found {
		var ports []string
		for _, l := range rc.Listeners {
			ports = append(ports, strconv.Itoa(l.Port))
		}
		fmt.Fprintf(w, "listener  none on port %d (the gateways serve %s)\n", port, strings.Join(ports, ", "))
	}
}

// explainAuthz shows what the AuthorizationPolicies decide, by the
// runtime's own rules, and reports whether the request goes on. The
// request.auth attributes are those of the token explainJWT decoded,
// WITHOUT verifying it, at a RequestAuthentication's locations.
func explainAuthz(w io.Writer, rc *runtime.Config, req *http.Request, port int) bool {
	d := rc.Authorize(req, port, runtime.IdentityOf(req))
	fmt.Fprintf(w, "authz     %s\n", d.Describe())
	if d.Allowed {
		return true
	}
	if d.Rule != nil || d.Action != "" {
		fmt.Fprintf(w, "details   %s\n", d.Details())
	}
	fmt.Fprintf(w, "result    %d, refused before routing\n", authzStatus(d))
	return false
}

// authzStatus is the status of a refusal: 403, or 400 for a path that
// does not normalise.
func authzStatus(d runtime.AuthzDecision) int {
	if d.Rule == nil && d.Action == "" {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// tokenIdentity is the identity a RequestAuthentication would establish
// for r's token, decoded WITHOUT verifying it: what request.auth.* would
// hold if the gateway accepted the token. nil without a
// RequestAuthentication or a token at its locations.
func tokenIdentity(rc *runtime.Config, r *http.Request) *runtime.Identity {
	a, ok := rc.Authn.(*jwt.Authenticator)
	if !ok {
		return nil
	}
	id, _, ok := a.Decode(r.Clone(r.Context()))
	if !ok {
		return nil
	}
	return id
}
