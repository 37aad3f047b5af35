package kubernetes

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	gwcrt "github.com/gwc-dev/gwc/runtime"
)

// podLabels returns the "key=value" labels of the pod named ns/name, and
// whether the pod is known.
type podLabels func(ns, name string) (map[string]string, bool)

// endpointsOf computes the endpoint set of one target from the
// EndpointSlices of its Service, as istiod builds a cluster's
// ClusterLoadAssignment from them
// (pilot/pkg/serviceregistry/kube/controller/endpointslice.go):
//
//   - the port: the slice port the Service port maps to. EndpointSlices
//     carry the Service port's name and its resolved targetPort number, not
//     the Service port number; gwc does not read Services (its RBAC is
//     EndpointSlices only), so the port is the slice's only port, or else
//     the one whose number is the Service port (targetPort equal to port);
//   - conditions: an endpoint that is not ready is left out (Ready unset
//     counts as ready, as the API says); a terminating one is dropped, as
//     istiod drops it for every service that is not a persistent-session
//     one;
//   - subset labels: an endpoint belongs to a subset when its pod (its
//     targetRef) has every label of the subset;
//   - the protocol: the port's appProtocol, else Istio's port-name prefix.
//
// Addresses of type FQDN are skipped: istiod does not use them either.
func endpointsOf(svc gwcrt.ServiceRef, all []*discoveryv1.EndpointSlice, pods podLabels) gwcrt.EndpointUpdate {
	if len(all) == 0 {
		return gwcrt.EndpointUpdate{NoService: true}
	}
	var up gwcrt.EndpointUpdate
	for _, s := range all {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		port, ok := slicePort(s.Ports, svc.Port)
		if !ok {
			continue
		}
		if http2Port(port) {
			up.HTTP2 = true
		}
		for _, ep := range s.Endpoints {
			if !usable(ep.Conditions) || len(ep.Addresses) == 0 {
				continue
			}
			if len(svc.Labels) > 0 && !inSubset(ep.TargetRef, svc.Labels, pods) {
				continue
			}
			ip, err := netip.ParseAddr(ep.Addresses[0])
			if err != nil {
				continue
			}
			up.Addrs = append(up.Addrs, netip.AddrPortFrom(ip.Unmap(), uint16(*port.Port)).String())
		}
	}
	slices.Sort(up.Addrs)
	up.Addrs = slices.Compact(up.Addrs)
	return up
}

// slicePort picks the slice port of Service port want: the only one, or
// the one whose number is want.
func slicePort(ports []discoveryv1.EndpointPort, want int) (discoveryv1.EndpointPort, bool) {
	if len(ports) == 1 && ports[0].Port != nil {
		return ports[0], true
	}
	for _, p := range ports {
		if p.Port != nil && int(*p.Port) == want {
			return p, true
		}
	}
	return discoveryv1.EndpointPort{}, false
}

// usable says whether an endpoint may take new requests: ready (or of
// unknown readiness) and not terminating.
func usable(c discoveryv1.EndpointConditions) bool {
	if c.Ready != nil && !*c.Ready {
		return false
	}
	return c.Terminating == nil || !*c.Terminating
}

// inSubset says whether the pod of ref has every one of labels.
func inSubset(ref *corev1.ObjectReference, labels []string, pods podLabels) bool {
	if ref == nil || ref.Kind != "Pod" || pods == nil {
		return false
	}
	have, ok := pods(ref.Namespace, ref.Name)
	if !ok {
		return false
	}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// http2Port says whether a port speaks HTTP/2 upstream, as istiod decides
// a Kubernetes port's protocol (pkg/config/kube/conversion.go
// ConvertProtocol): appProtocol first (kubernetes.io/h2c, grpc, http2,
// grpc-web), else the port name's prefix before "-" (grpc, http2,
// grpc-web).
func http2Port(p discoveryv1.EndpointPort) bool {
	if p.AppProtocol != nil && *p.AppProtocol != "" {
		switch strings.ToLower(*p.AppProtocol) {
		case "kubernetes.io/h2c", "grpc", "http2", "grpc-web":
			return true
		}
		return false
	}
	if p.Name == nil {
		return false
	}
	name := strings.ToLower(*p.Name)
	if strings.HasPrefix(name, "grpc-web") {
		return true
	}
	prefix, _, _ := strings.Cut(name, "-")
	return prefix == "grpc" || prefix == "http2"
}
