package runtime

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/pires/go-proxyproto"
)

// Topology is Istio's ProxyConfig.gatewayTopology: what the gateway may
// believe of the hops in front of it about the client's address. gwc build
// fills it from the Gateways' proxy.istio.io/config annotation; the flags
// of the same names override it at run time.
type Topology struct {
	// NumTrustedProxies is Envoy's xff_num_trusted_hops: the client's
	// address is the NumTrustedProxies-th address from the right of the
	// X-Forwarded-For the client sent (the peer's when it has fewer); 0
	// trusts none and takes the peer's.
	NumTrustedProxies int `json:",omitempty"`
	// ForwardClientCertDetails is Istio's name of the
	// x-forwarded-client-cert handling; "" means the gateway default,
	// SANITIZE_SET.
	ForwardClientCertDetails string `json:",omitempty"`
	// ProxyProtocol requires a PROXY protocol header (v1 or v2) at the
	// start of every connection to a Gateway port, as Envoy's
	// proxy_protocol listener filter does: the header's source address is
	// the peer's from then on, and a connection without one is closed.
	ProxyProtocol bool `json:",omitempty"`
}

// xfccModes are Istio's ForwardClientCertDetails values.
var xfccModes = []string{"SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"}

// registerTopology adds the flags that override t, compiled values as
// their defaults.
func registerTopology(fs *flag.FlagSet, t *Topology) {
	fs.IntVar(&t.NumTrustedProxies, "num-trusted-proxies", t.NumTrustedProxies,
		"gatewayTopology.numTrustedProxies: how many proxies in front of the gateway append to X-Forwarded-For; the client's address is read that many entries from its right")
	fs.BoolVar(&t.ProxyProtocol, "proxy-protocol", t.ProxyProtocol,
		"gatewayTopology.proxyProtocol: require a PROXY protocol v1 or v2 header on every connection to a Gateway port (behind an AWS NLB and the like)")
	fs.StringVar(&t.ForwardClientCertDetails, "forward-client-cert-details", t.ForwardClientCertDetails,
		"gatewayTopology.forwardClientCertDetails: "+strings.Join(xfccModes, ", ")+" (empty: SANITIZE_SET, Istio's gateway default)")
}

// check reports a value no flag or annotation may carry.
func (t *Topology) check() error {
	if t.NumTrustedProxies < 0 {
		return fmt.Errorf("--num-trusted-proxies %d: must not be negative", t.NumTrustedProxies)
	}
	if m := t.ForwardClientCertDetails; m != "" && !slices.Contains(xfccModes, m) {
		return fmt.Errorf("--forward-client-cert-details %q: want one of %s", m, strings.Join(xfccModes, ", "))
	}
	return nil
}

// proxyHeaderTimeout bounds the wait for a PROXY header: Envoy's
// listener_filters_timeout default.
const proxyHeaderTimeout = 15 * time.Second

// proxyProtocolListener reads the PROXY header of each connection ln
// accepts before anything else sees it (TLS, HTTP, TCP proxying): a
// well-kept parser of both versions whose connections report the header's
// source as their RemoteAddr. The header is read on the connection's own
// goroutine, at its first Read or RemoteAddr, never in the accept loop.
func proxyProtocolListener(ln net.Listener) net.Listener {
	return &proxyproto.Listener{
		Listener:          ln,
		ConnPolicy:        func(proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) { return proxyproto.REQUIRE, nil },
		ReadHeaderTimeout: proxyHeaderTimeout,
	}
}

// peerKey carries the peer's address in a request's context when the
// client's address in RemoteAddr was read from X-Forwarded-For.
type peerKey struct{}

// trustClientAddress sets r's RemoteAddr to the client's address as Envoy
// determines it with xff_num_trusted_hops = hops: the hops-th address from
// the right of X-Forwarded-For, with port 0, when there are that many and
// it is an IP address; the peer's otherwise. The peer's address stays in
// the context: X-Forwarded-For still gets the peer appended.
func trustClientAddress(r *http.Request, hops int) *http.Request {
	peer := clientIP(r.RemoteAddr)
	var xff []string
	for _, v := range r.Header["X-Forwarded-For"] {
		for _, a := range strings.Split(v, ",") {
			xff = append(xff, strings.TrimSpace(a))
		}
	}
	if len(xff) < hops {
		return r
	}
	ip, err := netip.ParseAddr(xff[len(xff)-hops])
	if err != nil {
		return r
	}
	r = r.WithContext(context.WithValue(r.Context(), peerKey{}, peer))
	r.RemoteAddr = netip.AddrPortFrom(ip.Unmap(), 0).String()
	return r
}

// peerIP is the address X-Forwarded-For gets appended: the connection's
// peer (after any PROXY header), whatever the client's address is.
func peerIP(r *http.Request) string {
	if p, ok := r.Context().Value(peerKey{}).(string); ok {
		return p
	}
	return clientIP(r.RemoteAddr)
}
