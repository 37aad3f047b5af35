// Package schema provides the CUE definitions of the Istio networking
// resources gwc reads (Gateway, VirtualService, ServiceEntry,
// DestinationRule), embedded in the gwc binary. The same files are a CUE
// package, istio, that the stock cue command can use (see README.md).
// JSONSchema exports them as JSON Schema, Source as one CUE file.
package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/parser"
)

// FS holds the schema's .cue files.
//
//go:embed *.cue
var FS embed.FS

// Kinds lists the kinds the schema defines, each as the definition #<Kind>.
var Kinds = []string{"Gateway", "VirtualService", "ServiceEntry", "DestinationRule"}

// ExtensionKinds lists gwc's own kinds, API group extensions.gwc.dev, each
// as the definition #<Kind>.
var ExtensionKinds = []string{"GatewayPlugin"}

// SecurityKinds lists the security.istio.io kinds the schema defines, each
// as the definition #<Kind>.
var SecurityKinds = []string{"RequestAuthentication", "AuthorizationPolicy"}

// TelemetryKinds lists the telemetry.istio.io kinds the schema defines,
// each as the definition #<Kind>.
var TelemetryKinds = []string{"Telemetry"}

// Build compiles the schema in ctx and returns the package value; look up
// definitions with cue.Def, e.g. v.LookupPath(cue.MakePath(cue.Def("Gateway"))).
// It takes a few milliseconds: call it once per context and keep the value.
// (It keeps no cache itself: a cache keyed by context would keep every
// context alive.)
func Build(ctx *cue.Context) (cue.Value, error) {
	names, err := fs.Glob(FS, "*.cue")
	if err != nil {
		return cue.Value{}, fmt.Errorf("listing schema files: %w", err)
	}
	sort.Strings(names)
	inst := build.NewContext().NewInstance("schema", nil)
	for _, name := range names {
		src, err := FS.ReadFile(name)
		if err != nil {
			return cue.Value{}, fmt.Errorf("reading schema file: %w", err)
		}
		f, err := parser.ParseFile("schema/"+name, src)
		if err != nil {
			return cue.Value{}, fmt.Errorf("parsing schema file: %w", err)
		}
		if err := inst.AddSyntax(f); err != nil {
			return cue.Value{}, fmt.Errorf("adding schema file %s: %w", name, err)
		}
	}
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("building schema: %w", err)
	}
	return v, nil
}
