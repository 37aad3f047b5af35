package compiler

import (
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/load"
)

// CompressionAnnotation turns on response compression for a Gateway's or a
// VirtualService's routes: a comma-separated list of encodings in the order
// the gateway prefers them ("gzip", "zstd"), or "off". A VirtualService's
// annotation overrides its Gateway's.
const CompressionAnnotation = "gwc.io/compression"

var compressionPath = cue.MakePath(cue.Str("metadata"), cue.Str("annotations"), cue.Str(CompressionAnnotation))

// compressionEncodings are the encodings the runtime implements.
var compressionEncodings = []string{"gzip", "zstd"}

// compressionOf reads r's compression annotation: set says it is present;
// encodings is empty for "off". A bad value is reported and reads as absent.
func (c *compilation) compressionOf(r *load.Resource) (encodings []string, set bool) {
	v := r.Value.LookupPath(compressionPath)
	if !v.Exists() {
		return nil, false
	}
	path := `metadata.annotations["` + CompressionAnnotation + `"]`
	hint := `list gzip, zstd or both in order of preference, e.g. "gzip,zstd"; or "off"`
	s, err := v.String()
	if err != nil {
		c.errorc(codeAnnotation, r, path, hint, "annotation %s must be a string", CompressionAnnotation)
		return nil, false
	}
	if strings.TrimSpace(s) == "off" {
		return nil, true
	}
	for part := range strings.SplitSeq(s, ",") {
		enc := strings.ToLower(strings.TrimSpace(part))
		switch {
		case !slices.Contains(compressionEncodings, enc):
			c.errorc(codeAnnotation, r, path, hint, "annotation %s: unknown encoding %q", CompressionAnnotation, strings.TrimSpace(part))
			return nil, false
		case slices.Contains(encodings, enc):
			c.errorc(codeAnnotation, r, path, hint, "annotation %s: %q listed twice", CompressionAnnotation, enc)
			return nil, false
		}
		encodings = append(encodings, enc)
	}
	return encodings, true
}

// checkCompression reports bad compression annotations on every Gateway
// and VirtualService, bound or not.
func (c *compilation) checkCompression() {
	for _, k := range sortedKeys(c.gateways) {
		c.compressionOf(c.gateways[k].Resource)
	}
	for _, vs := range c.vss {
		c.compressionOf(vs.Resource)
	}
}

// routeCompression is the compression of a route from vs bound through
// gateways (namespace/name keys): the VirtualService's annotation, else the
// first of its gateways that has one.
func (c *compilation) routeCompression(vs *virtualService, gateways []string) []string {
	if enc, ok := c.quietCompression(vs.Resource); ok {
		return enc
	}
	for _, g := range gateways {
		if gw := c.gateways[g]; gw != nil {
			if enc, ok := c.quietCompression(gw.Resource); ok {
				return enc
			}
		}
	}
	return nil
}

// quietCompression is compressionOf without reporting: checkCompression
// reported each resource once already.
func (c *compilation) quietCompression(r *load.Resource) ([]string, bool) {
	saved := len(c.diags)
	enc, ok := c.compressionOf(r)
	c.diags = c.diags[:saved]
	return enc, ok
}
