// Package pathnorm normalises request paths as Envoy's normalize_path does it, which Istio turns on
// for every gateway (mesh pathNormalization BASE): the path is canonicalised
// by Chromium's URL path rules (what Envoy links), then used for routing and
// forwarded upstream. The rules, byte by byte:
//   - "." and ".." segments (also spelled %2e, and ended by "/", "\" or the
//     end) are resolved as RFC 3986 remove_dot_segments; ".;x" and "..;x"
//     segments lose their parameters first (Envoy strips them so "/..;/"
//     cannot hide a parent step);
//   - "\" becomes "/";
//   - %XX of an unreserved character (ALPHA DIGIT - _ ~) is decoded; any
//     other valid %XX is kept as sent; a "%" not followed by two hex digits
//     is kept; %00 or a NUL byte makes the path invalid (Envoy: 400);
//   - control bytes, space, " # < > ? ^ ` { | } DEL and bytes >= 0x80 are
//     percent-encoded;
//   - slashes are not merged (merge_slashes is off at Istio's default).
package pathnorm

import (
	"strings"
)

// Character classes of path bytes.
const (
	pathPass     = 0
	pathSpecial  = 1 << 0 // needs a closer look
	pathEscape   = 1 << 1 // percent-encoded in the output
	pathUnescape = 1 << 2 // %XX of it is decoded
	pathInvalid  = 1 << 3 // makes the path invalid
)

var pathClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c == 0:
			t[c] = pathInvalid | pathSpecial
		case c < 0x20 || c >= 0x7f:
			t[c] = pathEscape | pathSpecial
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '~':
			t[c] = pathUnescape
		}
	}
	for _, c := range " \"#<>?^`{|}\\%" {
		t[c] = pathEscape | pathSpecial
	}
	t['.'] = pathSpecial
	return t
}()

// Normalize returns p canonicalised as above and whether it is valid.
// p is the path as sent, without the query. A path that needs no change is
// returned as is, without allocating.
func Normalize(p string) (string, bool) {
	if isNormalPath(p) {
		return p, true
	}
	return canonicalPath(stripDotParams(p))
}

// isNormalPath reports whether canonicalPath would return p unchanged.
func isNormalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathClass[c]&pathSpecial == 0 {
			continue
		}
		switch c {
		case '.':
			if p[i-1] == '/' {
				if afterDot(p, i+1) != notDirectory {
					return false
				}
				if strings.HasPrefix(p[i:], ".;") || strings.HasPrefix(p[i:], "..;") {
					return false
				}
			}
		case '%':
			v, ok := decodeEscape(p, i)
			if !ok {
				continue // kept as sent; any effect needs a later decode, caught then
			}
			if v == '.' || v == 0 || pathClass[v]&pathUnescape != 0 {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

// stripDotParams turns "/..;a=b/" into "/../" and "/.;a/" into "/./", as
// Envoy does before canonicalising (strip_dotdot_segments_with_parameters).
func stripDotParams(p string) string {
	end := strings.IndexByte(p, '#')
	if end < 0 {
		end = len(p)
	}
	if !strings.Contains(p[:end], ".;") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i, seg := range strings.Split(p[:end], "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		switch {
		case strings.HasPrefix(seg, "..;"):
			seg = ".."
		case strings.HasPrefix(seg, ".;"):
			seg = "."
		}
		b.WriteString(seg)
	}
	b.WriteString(p[end:])
	return b.String()
}

type dotKind uint8

const (
	notDirectory dotKind = iota
	currentDirectory
	parentDirectory
)

// dotLen returns how many bytes of p at i spell a dot: "." is 1, "%2e" 3.
func dotLen(p string, i int) int {
	if i >= len(p) {
		return 0
	}
	if p[i] == '.' {
		return 1
	}
	if p[i] == '%' && i+2 < len(p) && p[i+1] == '2' && (p[i+2] == 'e' || p[i+2] == 'E') {
		return 3
	}
	return 0
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// afterDot classifies a dot at the start of a segment from what follows it
// at i, and returns how many of those bytes the segment consumes.
func afterDot(p string, i int) dotKind {
	k, _ := classifyAfterDot(p, i)
	return k
}

func classifyAfterDot(p string, i int) (dotKind, int) {
	if i == len(p) {
		return currentDirectory, 0
	}
	if isSlash(p[i]) {
		return currentDirectory, 1
	}
	if n := dotLen(p, i); n > 0 {
		j := i + n
		if j == len(p) {
			return parentDirectory, n
		}
		if isSlash(p[j]) {
			return parentDirectory, n + 1
		}
	}
	return notDirectory, 0
}

// decodeEscape decodes "%XX" at p[i].
func decodeEscape[S ~string | ~[]byte](p S, i int) (byte, bool) {
	if i+2 >= len(p) {
		return 0, false
	}
	hi, ok1 := unhex(p[i+1])
	lo, ok2 := unhex(p[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// canonicalPath is the general case of normalizePath.
func canonicalPath(p string) (string, bool) {
	out := make([]byte, 0, len(p)+8)
	if p == "" || !isSlash(p[0]) {
		out = append(out, '/')
	}
	valid := true
	lastBadPercent := -1 << 30 // index in out of a "%" that began no valid escape
	for i := 0; i < len(p); i++ {
		c := p[i]
		class := pathClass[c]
		if class&pathSpecial == 0 {
			out = append(out, c)
			continue
		}
		if n := dotLen(p, i); n > 0 {
			if len(out) > 0 && out[len(out)-1] == '/' {
				kind, consumed := classifyAfterDot(p, i+n)
				switch kind {
				case notDirectory:
					out = append(out, '.')
					i += n - 1
				case currentDirectory:
					i += n + consumed - 1
				case parentDirectory:
					out = backUpToSlash(out)
					i += n + consumed - 1
				}
			} else {
				out = append(out, '.')
				i += n - 1
			}
			continue
		}
		switch {
		case c == '\\':
			out = append(out, '/')
		case c == '%':
			v, ok := decodeEscape(p, i)
			if !ok {
				lastBadPercent = len(out)
				out = append(out, '%')
				continue
			}
			i += 2
			if pathClass[v]&pathUnescape != 0 {
				out = append(out, v)
				if lastBadPercent >= len(out)-3 {
					out = fixNestedEscape(p, i+1, lastBadPercent, out)
				}
				continue
			}
			out = append(out, '%', p[i-1], p[i])
			if pathClass[v]&pathInvalid != 0 {
				valid = false
			}
		case class&pathInvalid != 0:
			out = append(out, '%', upperHex[c>>4], upperHex[c&15])
			valid = false
		case class&pathEscape != 0:
			out = append(out, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return string(out), valid
}

// backUpToSlash drops the last segment of out, which ends with "/", keeping
// the slash before it; at the root it stays at the root.
func backUpToSlash(out []byte) []byte {
	i := len(out) - 1
	if i <= 0 {
		return out
	}
	i--
	for i > 0 && out[i] != '/' {
		i--
	}
	return out[:i+1]
}

// fixNestedEscape keeps a decode from creating a new escape: "%%30%30"
// must not turn into "%00" that a second canonicalisation would decode.
// out ends with a byte just decoded, at most two bytes after the "%" at
// bad that began no valid escape; next is the next input index.
func fixNestedEscape(p string, next, bad int, out []byte) []byte {
	n := len(out)
	last := out[n-1]
	appended := bad == n-2
	if appended {
		if next == len(p) || p[next] >= 0x80 {
			return out
		}
		out = append(out, p[next])
	}
	if _, ok := decodeEscape(out, bad); ok {
		if !appended {
			out = append(out, out[bad+1])
		}
		out[bad+1] = '2'
		out[bad+2] = '5'
		return append(out, last)
	}
	if appended {
		out = out[:n]
	}
	return out
}
