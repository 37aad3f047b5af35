package compiler

import (
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/load"
)

// CompressionAnnotation turns on response compression for a Gateway's or a
// VirtualService's routes: a comma-separated list of encodings in the order
// the gateway prefers them ("gzip", "zstd"), each optionally with its level
// ("gzip;level=1"), or "off". A VirtualService's annotation overrides its
// Gateway's.
const CompressionAnnotation = "gwc.io/compression"

var compressionPath = cue.MakePath(cue.Str("metadata"), cue.Str("annotations"), cue.Str(CompressionAnnotation))

// compressionEncodings are the encodings the runtime implements, with the
// levels each accepts: zlib's 1-9 for gzip (Envoy's compression_level),
// zstd's 1-22.
var compressionEncodings = map[string]int{"gzip": 9, "zstd": 22}

// compressionOf reads r's compression annotation: set says it is present;
// encodings is empty for "off", each "NAME" or "NAME;level=N" in the
// runtime's form. A bad value is reported and reads as absent.
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
	var names []string
	for part := range strings.SplitSeq(s, ",") {
		enc, param, hasParam := strings.Cut(part, ";")
		enc = strings.ToLower(strings.TrimSpace(enc))
		maxLevel, known := compressionEncodings[enc]
		switch {
		case !known:
			c.errorc(codeAnnotation, r, path, hint, "annotation %s: unknown encoding %q", CompressionAnnotation, strings.TrimSpace(enc))
			return nil, false
		case slices.Contains(names, enc):
			c.errorc(codeAnnotation, r, path, hint, "annotation %s: %q listed twice", CompressionAnnotation, enc)
			return nil, false
		}
		names = append(names, enc)
		if hasParam {
			level, ok := compressionLevel(param, maxLevel)
			if !ok {
				c.errorc(codeAnnotation, r, path, `write "gzip;level=N" with N from 1 to 9 or "zstd;level=N" with N from 1 to 22; without a level, gzip uses 5 and zstd 3`,
					"annotation %s: bad parameter %q for %s", CompressionAnnotation, strings.TrimSpace(param), enc)
				return nil, false
			}
			enc += ";level=" + strconv.Itoa(level)
		}
		encodings = append(encodings, enc)
	}
	return encodings, true
}

// compressionLevel reads "level=N", N in 1..maxLevel.
func compressionLevel(param string, maxLevel int) (int, bool) {
	k, v, ok := strings.Cut(param, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(k), "level") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > maxLevel {
		return 0, false
	}
	return n, true
}
