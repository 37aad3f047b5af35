package compiler

import "strings"

// clusterDomain is the DNS domain short names expand into, as in a
// Kubernetes cluster with the default domain.
const clusterDomain = "svc.cluster.local"

// fqdn expands a short host name the way istiod does: a name with a dot is
// taken as it is; "*" is kept; a name without a dot becomes
// "<name>.<namespace>.svc.cluster.local", in the namespace of the resource
// that names it.
func fqdn(host, namespace string) string {
	host = strings.ToLower(host)
	if host == "*" || strings.Contains(host, ".") {
		return host
	}
	return host + "." + namespace + "." + clusterDomain
}

// serverHost is one entry of a Gateway server's hosts: "[ns/]dnsName".
type serverHost struct {
	// Namespace restricts which VirtualServices bind: "*" means any.
	Namespace string
	Host      string
}

// parseServerHost splits "ns/host"; "./host" means the Gateway's own
// namespace and a missing namespace means any.
func parseServerHost(s, gatewayNamespace string) serverHost {
	ns, host, ok := strings.Cut(s, "/")
	if !ok {
		return serverHost{Namespace: "*", Host: strings.ToLower(s)}
	}
	if ns == "." {
		ns = gatewayNamespace
	}
	return serverHost{Namespace: ns, Host: strings.ToLower(host)}
}

// intersect returns the more specific of two hosts when they overlap, as
// istiod binds a VirtualService host to a Gateway server host: equal hosts,
// or a wildcard ("*", "*.example.com") that covers the other.
func intersect(a, b string) (string, bool) {
	switch {
	case a == b:
		return a, true
	case covers(a, b):
		return b, true
	case covers(b, a):
		return a, true
	}
	return "", false
}

// covers reports whether wildcard host w matches every name of host h.
// "*.example.com" covers "a.example.com", "a.b.example.com" and
// "*.a.example.com", but not "example.com".
func covers(w, h string) bool {
	if w == "*" {
		return true
	}
	suffix, ok := strings.CutPrefix(w, "*")
	if !ok {
		return false
	}
	h = strings.TrimPrefix(h, "*")
	return len(h) > len(suffix) && strings.HasSuffix(h, suffix)
}
