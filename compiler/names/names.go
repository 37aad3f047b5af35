// Package names provides Istio's naming rules that the compiler and the
// analyzers share: short host names expanded to FQDNs, gateway references
// resolved to namespace/name, and hosts and wildcards compared as istiod
// binds them.
package names

import "strings"

// ClusterDomain is the DNS domain short names expand into, as in a
// Kubernetes cluster with the default domain.
const ClusterDomain = "svc.cluster.local"

// FQDN expands a short host name the way istiod does: a name with a dot is
// taken as it is; "*" is kept; a name without a dot becomes
// "<name>.<namespace>.svc.cluster.local", in the namespace of the resource
// that names it.
func FQDN(host, namespace string) string {
	host = strings.ToLower(host)
	if host == "*" || strings.Contains(host, ".") {
		return host
	}
	return host + "." + namespace + "." + ClusterDomain
}

// GatewayRef resolves a VirtualService's gateway reference as istiod does:
// "mesh" is the sidecars (""), "ns/name" and "./name" are explicit, the
// legacy "name.ns[.svc.cluster.local]" names ns/name, and a bare name is in
// the VirtualService's namespace.
func GatewayRef(ref, namespace string) string {
	if ref == "mesh" {
		return ""
	}
	if ns, name, ok := strings.Cut(ref, "/"); ok {
		if ns == "." {
			ns = namespace
		}
		return ns + "/" + name
	}
	if name, rest, ok := strings.Cut(ref, "."); ok {
		ns, _, _ := strings.Cut(rest, ".")
		return ns + "/" + name
	}
	return namespace + "/" + ref
}

// ServerHost is one entry of a Gateway server's hosts: "[ns/]dnsName".
type ServerHost struct {
	// Namespace restricts which VirtualServices bind: "*" means any.
	Namespace string
	Host      string
}

// ParseServerHost splits "ns/host"; "./host" means the Gateway's own
// namespace and a missing namespace means any.
func ParseServerHost(s, gatewayNamespace string) ServerHost {
	ns, host, ok := strings.Cut(s, "/")
	if !ok {
		return ServerHost{Namespace: "*", Host: strings.ToLower(s)}
	}
	if ns == "." {
		ns = gatewayNamespace
	}
	return ServerHost{Namespace: ns, Host: strings.ToLower(host)}
}

// Intersect returns the more specific of two hosts when they overlap, as
// istiod binds a VirtualService host to a Gateway server host: equal hosts,
// or a wildcard ("*", "*.example.com") that covers the other.
func Intersect(a, b string) (string, bool) {
	switch {
	case Covers(a, b):
		return b, true
	case Covers(b, a):
		return a, true
	}
	return "", false
}

// Covers reports whether host w matches every name of host h: equal hosts,
// or w a wildcard. "*.example.com" covers "a.example.com",
// "a.b.example.com" and "*.a.example.com", but not "example.com".
func Covers(w, h string) bool {
	if w == h || w == "*" {
		return true
	}
	suffix, ok := strings.CutPrefix(w, "*")
	if !ok {
		return false
	}
	h = strings.TrimPrefix(h, "*")
	return len(h) > len(suffix) && strings.HasSuffix(h, suffix)
}
