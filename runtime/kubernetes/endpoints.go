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

// service is what endpointsOf knows of a target's Service object.
type service struct {
	// known says the Services of the namespace are listed, so obj nil
	// means the Service does not exist.
	known bool
	obj   *corev1.Service
}

// endpointsOf computes the endpoint set of one target from the
// EndpointSlices of its Service, as istiod builds a cluster's
// ClusterLoadAssignment from them
// (pilot/pkg/serviceregistry/kube/controller/endpointslice.go, and
// pilot/pkg/xds/endpoints/endpoint_builder.go, which keeps the endpoints
// whose port name is the Service port's):
//
//   - the Service: one that does not exist has no cluster (NoService:
//     503 NC); one that exists without endpoints has an empty one (503 UH);
//   - the port: the destination names a Service port by number; the
//     Service maps it to its name, and an EndpointSlice carries each
//     Service port's name with the number its targetPort resolved to on
//     the slice's pods (a named targetPort may resolve to different
//     numbers on different pods, which then sit in different slices). So
//     the endpoints of a slice are taken at the slice port of that name. A
//     port the Service does not have selects nothing (503 UH), as istiod's
//     servicePort finds none. Until the Services are listed (or when they
//     cannot be), the port falls back to the slice's only port, or else
//     the one whose number is the destination's port;
//   - conditions: an endpoint that is not ready is left out (Ready unset
//     counts as ready, as the API says); a terminating one is dropped, as
//     istiod drops it for every service that is not a persistent-session
//     one;
//   - subset labels: an endpoint belongs to a subset when its pod (its
//     targetRef) has every label of the subset;
//   - the protocol: the Service port's appProtocol, else Istio's port-name
//     prefix (the slice port's, which copies them, while the Service is
//     not known).
//
// Addresses of type FQDN are skipped: istiod does not use them either.
// missingPort reports a Service that lacks the destination's port.
func endpointsOf(svc gwcrt.ServiceRef, known service, all []*discoveryv1.EndpointSlice, pods podLabels) (up gwcrt.EndpointUpdate, missingPort bool) {
	var name string
	switch {
	case known.obj != nil:
		sp, ok := servicePort(known.obj, svc.Port)
		if !ok {
			return gwcrt.EndpointUpdate{}, true
		}
		name = sp.Name
		up.HTTP2 = http2Port(sp.Name, sp.AppProtocol)
	case known.known || len(all) == 0:
		return gwcrt.EndpointUpdate{NoService: true}, false
	}
	for _, s := range all {
		if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		var port discoveryv1.EndpointPort
		var ok bool
		if known.obj != nil {
			port, ok = namedSlicePort(s.Ports, name)
		} else {
			port, ok = slicePort(s.Ports, svc.Port)
			if ok && http2Port(deref(port.Name), port.AppProtocol) {
				up.HTTP2 = true
			}
		}
		if !ok {
			continue
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
	return up, false
}

// servicePort is the Service's TCP port numbered n. istiod takes the
// first port of the number whatever its protocol; a UDP or SCTP port of
// the same number cannot carry HTTP, so gwc skips it.
func servicePort(s *corev1.Service, n int) (corev1.ServicePort, bool) {
	for _, p := range s.Spec.Ports {
		if int(p.Port) == n && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			return p, true
		}
	}
	return corev1.ServicePort{}, false
}

// namedSlicePort is the slice port of the Service port named name ("" for
// the one port of a Service whose port has no name).
func namedSlicePort(ports []discoveryv1.EndpointPort, name string) (discoveryv1.EndpointPort, bool) {
	for _, p := range ports {
		if p.Port != nil && deref(p.Name) == name {
			return p, true
		}
	}
	return discoveryv1.EndpointPort{}, false
}

// slicePort picks the slice port of Service port want without the
// Service: the only one, or the one whose number is want.
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
func http2Port(name string, appProtocol *string) bool {
	if appProtocol != nil && *appProtocol != "" {
		switch strings.ToLower(*appProtocol) {
		case "kubernetes.io/h2c", "grpc", "http2", "grpc-web":
			return true
		}
		return false
	}
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "grpc-web") {
		return true
	}
	prefix, _, _ := strings.Cut(name, "-")
	return prefix == "grpc" || prefix == "http2"
}
