package compiler

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/load"
)

// MaxRequestBodyAnnotation caps the request body of a Gateway's or a
// VirtualService's routes, as Envoy's buffer filter's max_request_bytes
// does: a size in bytes ("1048576"), with a Kubernetes binary or decimal
// suffix ("10Mi", "500k"), or "off". A VirtualService's annotation
// overrides its Gateway's.
const MaxRequestBodyAnnotation = "gwc.io/max-request-body"

var maxRequestBodyPath = cue.MakePath(cue.Str("metadata"), cue.Str("annotations"), cue.Str(MaxRequestBodyAnnotation))

// sizeSuffixes are the Kubernetes quantity suffixes a size may carry,
// longest first so "Mi" is tried before "M".
var sizeSuffixes = []struct {
	suffix string
	factor int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9},
}

// maxRequestBodyOf reads r's body limit annotation: set says it is
// present; the limit is 0 for "off". A bad value is reported and reads as
// absent.
func (c *compilation) maxRequestBodyOf(r *load.Resource) (limit int64, set bool) {
	v := r.Value.LookupPath(maxRequestBodyPath)
	if !v.Exists() {
		return 0, false
	}
	path := `metadata.annotations["` + MaxRequestBodyAnnotation + `"]`
	hint := `write a size in bytes with an optional suffix Ki, Mi, Gi, k, M or G, such as "10Mi", or "off"`
	s, err := v.String()
	if err != nil {
		c.errorc(codeAnnotation, r, path, hint, "annotation %s must be a string", MaxRequestBodyAnnotation)
		return 0, false
	}
	s = strings.TrimSpace(s)
	if s == "off" {
		return 0, true
	}
	n, ok := parseSize(s)
	if !ok {
		c.errorc(codeAnnotation, r, path, hint, "annotation %s: %q is not a size between 1 byte and 1Ti", MaxRequestBodyAnnotation, s)
		return 0, false
	}
	return n, true
}

// parseSize reads a positive size with an optional suffix, up to 1 TiB.
func parseSize(s string) (int64, bool) {
	factor := int64(1)
	for _, x := range sizeSuffixes {
		if num, ok := strings.CutSuffix(s, x.suffix); ok {
			s, factor = num, x.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/factor {
		return 0, false
	}
	return n * factor, true
}
