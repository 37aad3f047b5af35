package compiler

import (
	"encoding/json"
	"reflect"

	"github.com/gwc-dev/gwc/compiler/load"
)

// decodeSpec reads a resource's spec into v from its cached JSON, which
// is several times cheaper than decoding the CUE value; if that fails it
// decodes the CUE value, whose error says what is wrong. GatewayPlugin
// specs are not read this way: their pluginConfig is kept as written,
// and JSON would turn every number into a float64.
func decodeSpec(r *load.Resource, v any) error {
	if !r.Value.LookupPath(specPath).Exists() {
		// Kinds whose schema makes spec optional (AuthorizationPolicy,
		// RequestAuthentication, Telemetry): no spec is the zero spec.
		return nil
	}
	if js, err := r.SpecJSON(); err == nil {
		if json.Unmarshal(js, v) == nil {
			return nil
		}
		reflect.ValueOf(v).Elem().SetZero()
	}
	return r.Value.LookupPath(specPath).Decode(v)
}
