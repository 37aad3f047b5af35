package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/jsonschema"

	"github.com/gwc-dev/gwc/schema"
)

// runSchema exports the CUE schema in another form, generated from the
// CUE definitions so that the two never disagree.
func runSchema(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("schema", "--format jsonschema [KIND] | --format cue")
	format := fs.String("format", "jsonschema", "output `FORMAT`: jsonschema (JSON Schema 2020-12, for editors and the YAML language server), or cue (the whole CUE schema as one file, for the stock cue vet)")
	kinds, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if *format == "cue" {
		return printCUESchema(kinds, stdout, stderr)
	}
	if *format != "jsonschema" {
		fmt.Fprintf(stderr, "gwc schema: unknown format %q: use jsonschema or cue\n", *format)
		return 2
	}
	var out []byte
	var err error
	switch len(kinds) {
	case 0:
		out, err = anyKindSchema()
	case 1:
		i := slices.IndexFunc(schema.Kinds, func(k string) bool { return strings.EqualFold(k, kinds[0]) })
		if i < 0 {
			fmt.Fprintf(stderr, "gwc schema: unknown kind %q: use one of %s, or none for all of them\n", kinds[0], strings.Join(schema.Kinds, ", "))
			return 2
		}
		out, err = kindSchema(schema.Kinds[i])
	default:
		fmt.Fprintln(stderr, "gwc schema: name at most one kind")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "gwc schema: %v\n", err)
		return 1
	}
	stdout.Write(out)
	return 0
}

func kindSchema(kind string) ([]byte, error) {
	m, err := jsonSchema(kind)
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
	for _, kind := range schema.Kinds {
		m, err := jsonSchema(kind)
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
		"properties": map[string]any{"kind": map[string]any{"enum": schema.Kinds}},
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

// jsonSchema generates the JSON Schema of the schema definition #def.
func jsonSchema(def string) (map[string]any, error) {
	ctx := cuecontext.New()
	pkg, err := schema.Build(ctx)
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

// printCUESchema prints the CUE schema as one file; cue vet -d '#KIND'
// chooses the kind, so naming one here is a usage error.
func printCUESchema(kinds []string, stdout, stderr io.Writer) int {
	if len(kinds) > 0 {
		fmt.Fprintln(stderr, "gwc schema: --format cue prints every kind; choose one with cue vet -d '#KIND'")
		return 2
	}
	src, err := schema.Source()
	if err != nil {
		fmt.Fprintf(stderr, "gwc schema: %v\n", err)
		return 1
	}
	stdout.Write(src)
	return 0
}
