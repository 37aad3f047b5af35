// Package kubernetes gives an ingress built with `gwc build --endpoints
// kubernetes` the endpoints of its destinations from the Kubernetes API,
// as the Istio ingress gateway gets them from istiod (EDS): the routes
// stay compiled into the binary; only the endpoint sets are live.
//
// It implements runtime.Discovery with client-go shared informers, per
// namespace the routes use: one on the Services they name (which map a
// destination's port number to the port's name), one on discovery.k8s.io/v1
// EndpointSlices selecting those Services by the label
// kubernetes.io/service-name (whose ports carry that name and the
// resolved targetPort), and, when a DestinationRule subset selects pods by
// label, one on the Pods, joined through each endpoint's targetRef. Every
// change recomputes the endpoint sets of the affected clusters and hands
// each one to the runtime whole (runtime.EndpointUpdate), which swaps it
// in atomically (runtime/upstream_discovery.go).
//
// Generated code imports this package only for such a build, so no other
// ingress links client-go.
package kubernetes
