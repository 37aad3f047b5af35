// Package templates holds the text/template files codegen fills to write
// an ingress's Go source. One define per output file.
package templates

import "embed"

// FS holds the *.tmpl files.
//
//go:embed *.tmpl
var FS embed.FS
