package compiler

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// verdict is what this version of gwc does with a field the schema
// accepts but the compiler does not implement: fail, or warn that it has
// no effect. A field is never dropped silently.
type verdict struct {
	severity diag.Severity
	message  string
	hint     string
}

const later = "it comes with a later release of gwc; remove it to build now"

// unsupported lists fields by kind and path, list indexes written "[]".
var unsupported = map[string]map[string]verdict{
	"Gateway": {
		"spec.servers[].port.targetPort": {diag.Warning, "targetPort has no effect on a Gateway and is ignored", "remove it"},
		"spec.servers[].defaultEndpoint": {diag.Warning, "defaultEndpoint is not implemented by Istio either and is ignored", "remove it"},

		"spec.servers[].tls.tlsCertificates[].caCertificates": {diag.Error, "caCertificates inside tlsCertificates is not supported", "set caCertificates on the server's tls instead"},
	},
	"VirtualService": {
		"spec.http[].match[].statPrefix": {diag.Warning, "statPrefix is ignored: gwc has no per-route stats yet", "remove it"},
		"spec.http[].match[].sourceLabels": {diag.Warning, "sourceLabels selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},
		"spec.http[].match[].sourceNamespace": {diag.Warning, "sourceNamespace selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},

		"spec.tcp[].match[].destinationSubnets": {diag.Error, "destinationSubnets is not supported yet", later},
		"spec.tls[].match[].destinationSubnets": {diag.Error, "destinationSubnets is not supported yet", later},
		"spec.tcp[].match[].sourceSubnet":       {diag.Error, "sourceSubnet is not supported yet", later},
		"spec.tcp[].match[].sourceLabels": {diag.Warning, "sourceLabels selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},
		"spec.tls[].match[].sourceLabels": {diag.Warning, "sourceLabels selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},
		"spec.tcp[].match[].sourceNamespace": {diag.Warning, "sourceNamespace selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},
		"spec.tls[].match[].sourceNamespace": {diag.Warning, "sourceNamespace selects sidecars in the mesh and cannot apply at a standalone gateway; ignored",
			"remove it, or move the rule to a mesh VirtualService"},
	},
	"ServiceEntry": {
		"spec.workloadSelector": {diag.Error, "workloadSelector selects pods, which a standalone gateway cannot see", "list the endpoints with their addresses instead"},
	},
}

// checkSupported reports every field of r that this version cannot honour.
// The resource is still compiled, so that its other problems are reported
// in the same run.
func (c *compilation) checkSupported(r *load.Resource) {
	rules := unsupported[r.Kind]
	report := func(path, pattern string) {
		v, found := rules[pattern]
		if !found {
			return
		}
		code := unsupportedCode(v.severity)
		if r.Kind == "GatewayPlugin" && code == diag.CodeUnsupported {
			// gwc's own kind: there is no Istio form to speak of.
			code = codePluginSpec
		}
		c.reportc(code, v.severity, r, path, v.hint, "%s", v.message)
	}
	// Every rule is under spec (TestUnsupportedUnderSpec), so the walk
	// reads only the spec's JSON, which the analyzers have already made.
	if js, err := r.SpecJSON(); err == nil && walkJSON(js, "spec", report) {
		return
	}
	walk(r.Value, "", "", report)
}

// walk calls fn for every field and list element under v with its path
// ("spec.http[0].match[1]") and pattern ("spec.http[].match[]").
func walk(v cue.Value, path, pattern string, fn func(path, pattern string)) {
	switch v.Kind() {
	case cue.StructKind:
		it, err := v.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			sel := it.Selector().String()
			p, q := sel, sel
			if path != "" {
				p, q = path+"."+sel, pattern+"."+sel
			}
			fn(p, q)
			walk(it.Value(), p, q, fn)
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return
		}
		for i := 0; it.Next(); i++ {
			walk(it.Value(), fmt.Sprintf("%s[%d]", path, i), pattern+"[]", fn)
		}
	}
}
