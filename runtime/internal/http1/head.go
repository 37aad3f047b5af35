package http1

import (
	"bytes"
	"strconv"
)

// A request head is parsed once, from one contiguous block of bytes (the
// request line and every header line up to the empty line), by the rules
// below. Each rule names where it comes from: RFC 9112 (HTTP/1.1), RFC 9110
// (HTTP semantics) or the default of Envoy's HTTP/1 codec, which is what
// the Istio ingress gateway answers with.

// reject is a request the engine refuses: the status it answers with, and
// why (for the log and the access log's response code details).
type reject struct {
	status int
	reason string
}

func (e *reject) Error() string { return e.reason }

func badRequest(reason string) *reject { return &reject{status: 400, reason: reason} }

var (
	errTooLarge     = &reject{status: 431, reason: "headers_too_large"}
	errTooMany      = &reject{status: 431, reason: "too_many_headers"}
	errNotChunked   = &reject{status: 501, reason: "unsupported_transfer_encoding"}
	errCLAndTE      = badRequest("content_length_and_chunked_not_allowed")
	errTEHTTP10     = badRequest("transfer_encoding_in_http10")
	errBadCL        = badRequest("invalid_content_length")
	errFold         = badRequest("obs_fold_not_allowed")
	errBareCR       = badRequest("bare_cr")
	errFieldName    = badRequest("invalid_header_name")
	errFieldValue   = badRequest("invalid_header_value")
	errSpaceColon   = badRequest("whitespace_before_colon")
	errMethod       = badRequest("invalid_method")
	errTarget       = badRequest("invalid_request_target")
	errVersion      = badRequest("invalid_http_version")
	errRequestLine  = badRequest("invalid_request_line")
	errNoHost       = badRequest("missing_host_header")
	errManyHosts    = badRequest("multiple_host_headers")
	errBadHost      = badRequest("invalid_host_header")
	errBadTrailer   = badRequest("invalid_trailer")
	errBadChunk     = badRequest("invalid_chunk")
	errChunkTooLong = badRequest("chunk_line_too_long")
	// errRequestTimeout is Envoy's request_timeout firing while the body
	// still comes: 408.
	errRequestTimeout = &reject{status: 408, reason: "request_overall_timeout"}
	errHeaderTimeout  = &reject{status: 408, reason: "request_header_timeout"}
)

// field is one header line of the head: offsets of name and value in it.
type field struct {
	name, value span
	canon       string // the canonical name when it is a well-known one
}

type span struct{ off, end int }

// head is a parsed request head. Offsets point into the block it was
// parsed from.
type head struct {
	method   string // interned
	target   span
	minor    int // HTTP/1.minor
	fields   []field
	host     int   // index into fields, -1 if none
	clen     int64 // -1 if none
	chunked  bool
	close    bool // Connection: close
	upgrade  bool // Connection lists "upgrade"
	upgrades int  // Upgrade fields
	h2c      bool // the (last) Upgrade field is "h2c"
	expect   int  // index into fields of Expect, -1 if none
	trailers int  // index into fields of Trailer, -1 if none
}

// findHeadEnd returns the length of the head at the start of b, including
// the empty line that ends it, or -1 if b does not hold a whole head yet.
// from is where the previous search stopped. A line ends with LF: RFC 9112
// section 2.2 lets a recipient take a bare LF as a line terminator (net/http
// does); a CR anywhere else is refused while parsing.
func findHeadEnd(b []byte, from int) (end, next int) {
	i := from
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			// Resume at the last line start, so an empty line split across
			// reads is still found.
			return -1, i
		}
		j += i
		// The line after this LF: empty ("\n" or "\r\n") ends the head.
		k := j + 1
		if k < len(b) && b[k] == '\n' {
			return k + 1, 0
		}
		if k+1 < len(b) && b[k] == '\r' && b[k+1] == '\n' {
			return k + 2, 0
		}
		if k >= len(b) || k+1 >= len(b) && b[k] == '\r' {
			return -1, j
		}
		i = k
	}
}

// nextLine returns the line at the start of b without its terminator
// (LF or CRLF) and the rest after it. b holds a whole head, so a line
// always ends.
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parseHead parses the head in b (as found by findHeadEnd) into h, and
// canonicalises header names in place. maxFields is the header line limit.
func parseHead(b []byte, h *head, maxFields int) error {
	h.fields = h.fields[:0]
	h.host, h.clen, h.chunked, h.close, h.upgrade, h.expect, h.trailers = -1, -1, false, false, false, -1, -1
	h.upgrades, h.h2c = 0, false
	line, rest := nextLine(b)
	if err := h.requestLine(line); err != nil {
		return err
	}
	// Syntax first, every line: a malformed line is a 400 whatever a
	// field before it said.
	off := len(b) - len(rest)
	for {
		line, rest = nextLine(b[off:])
		if len(line) == 0 {
			break
		}
		if len(h.fields) == maxFields {
			// Envoy: max_request_headers_count (100) -> 431.
			return errTooMany
		}
		f, err := parseField(b, off, len(line))
		if err != nil {
			return err
		}
		f.canon = canonical(b[f.name.off:f.name.end])
		h.fields = append(h.fields, f)
		off = len(b) - len(rest)
	}
	var te, cl bool
	var clValue []byte
	for i, f := range h.fields {
		value := b[f.value.off:f.value.end]
		switch f.canon {
		case "Host":
			if h.host >= 0 {
				// RFC 9112 section 3.2: more than one Host -> 400.
				return errManyHosts
			}
			h.host = i
		case "Content-Length":
			n, err := ParseContentLength(value)
			if err != nil {
				return err
			}
			if cl && !bytes.Equal(value, clValue) {
				// RFC 9110 section 8.6: differing values are an error.
				// Compared as written, as net/http does: "5" and "05"
				// frame the same body, but a peer that reads only one of
				// them may not agree.
				return errBadCL
			}
			cl, h.clen, clValue = true, n, value
		case "Transfer-Encoding":
			// RFC 9112 section 6.1: a server that receives a transfer
			// coding it does not understand answers 501. gwc understands
			// exactly one "chunked" and nothing else (no list, no second
			// field: Envoy's codec does the same).
			if te || !EqualFold(value, "chunked") {
				return errNotChunked
			}
			te, h.chunked = true, true
		case "Connection":
			h.close = h.close || hasToken(value, "close")
			h.upgrade = h.upgrade || hasToken(value, "upgrade")
		case "Upgrade":
			h.upgrades++
			h.h2c = EqualFold(value, "h2c")
		case "Expect":
			h.expect = i
		case "Trailer":
			h.trailers = i
		}
	}
	if te && h.minor == 0 {
		// RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message
		// means faulty framing (net/http would ignore it and read no body).
		return errTEHTTP10
	}
	if te && cl {
		// RFC 9112 section 6.1: a request with both is a smuggling
		// attempt; Envoy answers 400 and closes the connection.
		return errCLAndTE
	}
	if h.host < 0 && h.minor == 1 && h.method != "CONNECT" {
		// RFC 9112 section 3.2: an HTTP/1.1 request without Host -> 400
		// (CONNECT names its authority in the target).
		return errNoHost
	}
	if h.host >= 0 {
		f := h.fields[h.host]
		if !validHost(b[f.value.off:f.value.end]) {
			// RFC 9112 section 3.2 and RFC 3986 section 3.2.2.
			return errBadHost
		}
	}
	return nil
}

// requestLine parses "method SP request-target SP HTTP-version" (RFC 9112
// section 3), with exactly one SP between the parts: section 3 lets a
// recipient accept other whitespace, which is how request lines smuggle.
func (h *head) requestLine(line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errRequestLine
	}
	m := internMethod(line[:sp1])
	if m == "" {
		// Envoy's codec knows a fixed set of methods and refuses others.
		return errMethod
	}
	h.method = m
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return errRequestLine
	}
	target, version := rest[:sp2], rest[sp2+1:]
	switch string(version) {
	case "HTTP/1.1":
		h.minor = 1
	case "HTTP/1.0":
		h.minor = 0
	default:
		return errVersion
	}
	for _, c := range target {
		// RFC 9112 section 3.2: the target is a URI reference; no
		// whitespace, no control characters (RFC 3986 section 2).
		if c <= ' ' || c == 0x7f {
			return errTarget
		}
	}
	if !validTargetForm(m, target) {
		return errTarget
	}
	h.target = span{sp1 + 1, sp1 + 1 + sp2}
	return nil
}

// validTargetForm checks RFC 9112 section 3.2's four forms: origin-form
// ("/path"), absolute-form (http or https URI), authority-form only for
// CONNECT and asterisk-form only for OPTIONS.
func validTargetForm(method string, t []byte) bool {
	switch {
	case t[0] == '/':
		return method != "CONNECT"
	case len(t) == 1 && t[0] == '*':
		return method == "OPTIONS"
	case method == "CONNECT":
		return bytes.IndexByte(t, '/') < 0 && bytes.IndexByte(t, ':') > 0
	}
	return hasPrefixFold(t, "http://") || hasPrefixFold(t, "https://")
}

// parseField parses the header line at b[off:off+n] (RFC 9112 section 5:
// field-name ":" OWS field-value OWS).
func parseField(b []byte, off, n int) (field, error) {
	line := b[off : off+n]
	if line[0] == ' ' || line[0] == '\t' {
		// RFC 9112 section 5.2: obs-fold outside message/http -> 400.
		return field{}, errFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return field{}, errFieldName
	}
	if colon == 0 {
		return field{}, errFieldName
	}
	for _, c := range line[:colon] {
		if !isTokenChar(c) {
			if c == ' ' || c == '\t' {
				// RFC 9112 section 5.1: whitespace between name and colon
				// -> 400.
				return field{}, errSpaceColon
			}
			if c == '\r' {
				return field{}, errBareCR
			}
			return field{}, errFieldName
		}
	}
	v0, v1 := colon+1, len(line)
	for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
		v0++
	}
	for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
		v1--
	}
	for _, c := range line[v0:v1] {
		// RFC 9110 section 5.5: field-content is VCHAR, obs-text, SP and
		// HTAB; NUL, CR, LF and other controls -> 400.
		if c < ' ' && c != '\t' || c == 0x7f {
			if c == '\r' {
				return field{}, errBareCR
			}
			return field{}, errFieldValue
		}
	}
	Canonicalize(line[:colon])
	return field{name: span{off, off + colon}, value: span{off + v0, off + v1}}, nil
}

// ParseContentLength is RFC 9110 section 8.6: 1*DIGIT, nothing else (no
// sign, no list, no blanks inside), and no overflow.
func ParseContentLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, errBadCL
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, errBadCL
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// validHost checks a Host value: RFC 3986 section 3.2.2's reg-name,
// IPv4 or IP-literal characters, an optional port, nothing else.
func validHost(v []byte) bool {
	for _, c := range v {
		if !isHostChar(c) {
			return false
		}
	}
	return true
}

func isHostChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	// unreserved, sub-delims, ":" for the port, "[" "]" for IP literals,
	// "%" for pct-encoded.
	return bytes.IndexByte([]byte("-._~!$&'()*+,;=:[]%"), c) >= 0
}

// tokenChars is RFC 9110 section 5.6.2's tchar.
var tokenChars = [256]bool{}

func init() {
	for c := 'a'; c <= 'z'; c++ {
		tokenChars[c] = true
		tokenChars[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		tokenChars[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		tokenChars[c] = true
	}
}

func isTokenChar(c byte) bool { return tokenChars[c] }

// Canonicalize rewrites a header name in place as net/http's
// CanonicalMIMEHeaderKey would for a valid token: upper case first and
// after each "-", lower case elsewhere.
func Canonicalize(name []byte) {
	upper := true
	for i, c := range name {
		if upper && 'a' <= c && c <= 'z' {
			name[i] = c - 'a' + 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			name[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
}

// hasToken reports whether the comma-separated list v holds token,
// ignoring case and blanks (RFC 9110 section 5.6.1).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		el := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			el, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if EqualFold(bytes.Trim(el, " \t"), token) {
			return true
		}
	}
	return false
}

// EqualFold reports whether b equals s, a lower-case ASCII string,
// ignoring ASCII case in b.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && EqualFold(b[:len(prefix)], prefix)
}

// parseChunkSize parses a chunk-size line (RFC 9112 section 7.1: chunk-size
// [chunk-ext] CRLF, without the CRLF). Extensions are checked for their
// syntax and ignored, as RFC 9112 section 7.1.1 says.
func parseChunkSize(line []byte) (int64, error) {
	i := 0
	var n int64
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 15 {
			// 15 hex digits is 2^60: nothing real, and no overflow.
			return 0, errBadChunk
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, errBadChunk
	}
	if err := checkChunkExt(line[i:]); err != nil {
		return 0, err
	}
	return n, nil
}

// checkChunkExt checks *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ),
// ext-val a token or a quoted-string (RFC 9112 section 7.1.1).
func checkChunkExt(b []byte) error {
	i := 0
	bws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
	}
	token := func() bool {
		j := i
		for i < len(b) && isTokenChar(b[i]) {
			i++
		}
		return i > j
	}
	for {
		bws()
		if i == len(b) {
			return nil
		}
		if b[i] != ';' {
			return errBadChunk
		}
		i++
		bws()
		if !token() {
			return errBadChunk
		}
		bws()
		if i == len(b) || b[i] != '=' {
			continue
		}
		i++
		bws()
		if i < len(b) && b[i] == '"' {
			n := quotedLen(b[i:])
			if n < 0 {
				return errBadChunk
			}
			i += n
			continue
		}
		if !token() {
			return errBadChunk
		}
	}
}

// quotedLen returns the length of the quoted-string at the start of b
// (RFC 9110 section 5.6.4), or -1.
func quotedLen(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(b) || b[i] < ' ' && b[i] != '\t' || b[i] == 0x7f {
				return -1
			}
		case c < ' ' && c != '\t' || c == 0x7f:
			return -1
		}
	}
	return -1
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// statusLine returns the status line for code.
func statusLine(code int) string {
	if code >= 100 && code < 600 {
		if s := statusLines[code]; s != "" {
			return s
		}
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n"
}
