package main

import (
	"encoding/json"
	"fmt"
	"io"
)

func runVet(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vet", "[--format text|json] [--namespace NS] PATH...")
	format := fs.String("format", "text", "output `FORMAT`: text (file:line:col: severity: message) or json")
	ns := fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace")
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "gwc vet: unknown format %q: use text or json\n", *format)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc vet: no input: name files or directories of resources")
		return 2
	}
	cfg, diags := compile(paths, *ns, io.Discard)
	if *format == "json" {
		type entry struct {
			File     string `json:"file"`
			Line     int    `json:"line"`
			Column   int    `json:"column"`
			Severity string `json:"severity"`
			Resource string `json:"resource,omitempty"`
			Field    string `json:"field,omitempty"`
			Message  string `json:"message"`
			Hint     string `json:"hint,omitempty"`
		}
		entries := []entry{}
		for _, d := range diags {
			entries = append(entries, entry{d.Pos.File, d.Pos.Line, d.Pos.Col, d.Severity.String(), d.Resource, d.Field, d.Message, d.Hint})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(entries)
	} else {
		printDiags(stdout, diags)
	}
	if cfg == nil {
		return 1
	}
	return 0
}
