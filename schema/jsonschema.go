package schema

import (
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/jsonschema"
)

// JSONSchema returns the JSON Schema (2020-12) of one kind of Kinds, or
// with kind "", of a resource of any of them; generated from the CUE
// definitions so that the two never disagree (gwc schema).
func JSONSchema(kind string) ([]byte, error) {
	if kind == "" {
		return anyKindSchema()
	}
	m, err := kindSchema(kind)
	if err != nil {
		return nil, err
	}
	return indent(m)
}

// anyKindSchema is the JSON Schema of #Resource: any of the four kinds,
// the kind field choosing which. CUE's generator does not translate the
// comprehensions #Resource uses, so the choice is written here as
// if/then clauses over the generated schema of each kind.
func anyKindSchema() ([]byte, error) {
	defs := map[string]any{}
	var clauses []any
	for _, kind := range Kinds {
		m, err := kindSchema(kind)
		if err != nil {
			return nil, err
		}
		if d, ok := m["$defs"].(map[string]any); ok {
			for k, v := range d {
				defs[k] = v
			}
		}
		delete(m, "$defs")
		delete(m, "$schema")
		defs[kind] = m
		clauses = append(clauses, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"kind": map[string]any{"const": kind}}},
			"then": map[string]any{"$ref": "#/$defs/" + kind},
		})
	}
	return indent(map[string]any{
		"$schema":    "https://json-schema.org/draft/2020-12/schema",
		"$defs":      defs,
		"type":       "object",
		"required":   []string{"apiVersion", "kind", "metadata", "spec"},
		"properties": map[string]any{"kind": map[string]any{"enum": Kinds}},
		"allOf":      clauses,
	})
}

func indent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// kindSchema generates the JSON Schema of the definition #def.
func kindSchema(def string) (map[string]any, error) {
	ctx := cuecontext.New()
	pkg, err := Build(ctx)
	if err != nil {
		return nil, err
	}
	v := pkg.LookupPath(cue.MakePath(cue.Def(def)))
	expr, err := jsonschema.Generate(v, &jsonschema.GenerateConfig{})
	if err != nil {
		return nil, fmt.Errorf("generating JSON Schema for #%s: %w", def, err)
	}
	raw, err := ctx.BuildExpr(expr).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding JSON Schema for #%s: %w", def, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding JSON Schema for #%s: %w", def, err)
	}
	return m, nil
}
