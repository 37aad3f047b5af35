package compiler

import (
	"slices"

	"github.com/gwc-dev/gwc/compiler/analyze"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// CheckResources judges each resource alone, as Istio's admission webhook
// does: the per-resource rules of compiler/analyze, and the rules the
// compiler applies while lowering (actions, durations, header operations,
// traffic policies, TLS settings), with nothing that needs another
// resource. rejected are the resources the schema refused; only the
// analyzers, which read raw documents, see them.
//
// The compiler is run on a set holding the one resource, so that none of
// its findings can depend on another; the findings that only say another
// resource is missing are dropped.
func CheckResources(resources, rejected []*load.Resource) diag.List {
	all := analyze.Resource(append(slices.Clip(resources), rejected...))
	for _, r := range resources {
		_, ds := Compile([]*load.Resource{r}, nil)
		for _, d := range ds {
			if !needsOthers[d.Code] {
				all = append(all, d)
			}
		}
	}
	all.Sort()
	return slices.Compact(all)
}

// needsOthers are the codes of findings that a resource alone always
// gives: a reference to a resource that is not in the set, or a resource
// nothing else uses.
var needsOthers = map[string]bool{
	codeNotFound:         true, // gateway, subset, service port not found
	codePortRequired:     true, // the destination's service has several ports
	codeHostNotInGw:      true, // no server of its gateways serves the host
	codeSubsetNoPods:     true, // no endpoint selected
	codeMeshOnly:         true, // bound to no gateway of the set
	codeNoEndpoints:      true, // ServiceEntry with nothing to route to it
	codeUnusedDR:         true, // no route uses the host
	diag.CodeUnknownHost: true,
}
