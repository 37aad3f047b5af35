package compiler

import (
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// markHTTP2 sets HTTP2 on the clusters whose ServiceEntry port has an
// HTTP/2 protocol (HTTP2, GRPC, GRPC-WEB): Envoy talks HTTP/2 to them,
// which gRPC needs. A destination without a ServiceEntry has no declared
// protocol and gets HTTP/1.1.
func (c *compilation) markHTTP2(cfg *ir.Config) {
	for i := range cfg.Clusters {
		cl := &cfg.Clusters[i]
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
