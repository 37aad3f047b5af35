package compiler

import (
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

// markHTTP2 sets HTTP2 on the clusters whose ServiceEntry port has an
// HTTP/2 protocol (HTTP2, GRPC, GRPC-WEB), and on those whose
// DestinationRule says h2UpgradePolicy: UPGRADE: Envoy talks HTTP/2 to
// them, which gRPC needs. A destination without a ServiceEntry has no
// declared protocol and gets HTTP/1.1 (or, built with --endpoints
// kubernetes, the one its Service port has at run time).
func (c *compilation) markHTTP2(cfg *ir.Config) {
	for i := range cfg.Clusters {
		cl := &cfg.Clusters[i]
		if cl.Policy != nil && cl.Policy.H2Upgrade {
			cl.HTTP2 = true
			continue
		}
		if cl.Origin == nil {
			continue
		}
		se := c.serviceEntryFor(cl.Host)
		if se == nil {
			continue
		}
		for _, p := range se.Spec.Ports {
			if p.Number != cl.Port {
				continue
			}
			switch strings.ToUpper(p.Protocol) {
			case "HTTP2", "GRPC", "GRPC-WEB":
				cl.HTTP2 = true
			}
		}
	}
}

// EndpointsKubernetes is Options.Endpoints for a binary that takes the
// endpoints of destinations without a ServiceEntry from the Kubernetes
// API's EndpointSlices (gwc build --endpoints kubernetes).
const EndpointsKubernetes = "kubernetes"

// kubernetesService returns the Service a destination host names, when it
// is a Service's cluster name "name.namespace.svc.cluster.local"; other
// hosts (an external name without a ServiceEntry) stay with DNS.
func kubernetesService(host string, port int) (*ir.Service, bool) {
	rest, ok := strings.CutSuffix(host, "."+names.ClusterDomain)
	if !ok {
		return nil, false
	}
	name, ns, ok := strings.Cut(rest, ".")
	if !ok || name == "" || ns == "" || strings.Contains(ns, ".") {
		return nil, false
	}
	return &ir.Service{Namespace: ns, Name: name, Port: port}, true
}
