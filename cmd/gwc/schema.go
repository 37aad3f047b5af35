package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

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
	kind := ""
	switch len(kinds) {
	case 0:
	case 1:
		i := slices.IndexFunc(schema.Kinds, func(k string) bool { return strings.EqualFold(k, kinds[0]) })
		if i < 0 {
			fmt.Fprintf(stderr, "gwc schema: unknown kind %q: use one of %s, or none for all of them\n", kinds[0], strings.Join(schema.Kinds, ", "))
			return 2
		}
		kind = schema.Kinds[i]
	default:
		fmt.Fprintln(stderr, "gwc schema: name at most one kind")
		return 2
	}
	out, err := schema.JSONSchema(kind)
	if err != nil {
		fmt.Fprintf(stderr, "gwc schema: %v\n", err)
		return 1
	}
	stdout.Write(out)
	return 0
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
