package load

import (
	"slices"
	"strconv"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/schema"
)

// extensionsGroup is gwc's own API group: kinds Istio has no equivalent
// executable form of (GatewayPlugin, modelled on WasmPlugin).
const extensionsGroup = "extensions.gwc.dev"

// extensionsVersions are the served versions of gwc's group.
var extensionsVersions = []string{"v1alpha1"}

// extension classifies and validates a document of gwc's own group.
func (l *loader) extension(file string, pos diag.Pos, v cue.Value, apiVersion, version, kind, ns, name, id string) {
	if !slices.Contains(extensionsVersions, version) {
		l.errorf(diag.CodeInput, fieldValuePos(v, "apiVersion", pos), id, "apiVersion",
			"unknown apiVersion "+strconv.Quote(apiVersion),
			"use "+extensionsGroup+"/v1alpha1")
		return
	}
	if !slices.Contains(schema.ExtensionKinds, kind) {
		hint := "gwc's own group defines GatewayPlugin"
		if c, ok := closest(kind, schema.ExtensionKinds); ok {
			hint = "did you mean " + c + "?"
		}
		l.errorf(diag.CodeInput, fieldValuePos(v, "kind", pos), id, "kind",
			"unknown kind "+strconv.Quote(kind)+" in "+extensionsGroup, hint)
		return
	}
	l.resource(file, pos, v, apiVersion, kind, ns, name)
}
