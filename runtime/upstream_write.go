package runtime

import (
	"bufio"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// writeRequestHead writes the head of req, a request without a body, to bw
// exactly as req.Write would, for the common case: a plain host name or
// address, an opaque path (what the proxy sets), no Close, Trailer or
// Transfer-Encoding, at most maxHeaderKeys headers. It reports false,
// having written nothing, for any other request, which then goes through
// req.Write. Request.Write formats with fmt and sorts the headers through
// a pooled sorter, which costs about six allocations a request; this costs
// none. The caller checked the method and headers (checkRequest).
func writeRequestHead(bw *bufio.Writer, req *http.Request) (bool, error) {
	host := req.Host
	u := req.URL
	if !plainHost(host) || req.Close || req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Trailer != nil ||
		req.Body != nil && req.Body != http.NoBody || u.Opaque == "" || strings.HasPrefix(u.Opaque, "//") ||
		hasCTL(u.Opaque) || hasCTL(u.RawQuery) || len(req.Header) > maxHeaderKeys {
		return false, nil
	}
	var keysBuf [maxHeaderKeys]string
	keys := keysBuf[:0]
	for k, vv := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if len(vv) > 0 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)

	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(u.Opaque)
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	ua := "Go-http-client/1.1"
	if vv, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vv) > 0 {
			ua = textproto.TrimString(vv[0])
		}
	}
	if ua != "" {
		bw.WriteString("User-Agent: ")
		bw.WriteString(ua)
		bw.WriteString("\r\n")
	}
	// Request.Write sends a zero length for these methods only.
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n")
	}
	for _, k := range keys {
		for _, v := range req.Header[k] {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(textproto.TrimString(v))
			bw.WriteString("\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	return true, err
}

// maxHeaderKeys bounds the headers writeRequestHead sorts on the stack.
const maxHeaderKeys = 64

// plainHost reports whether h is a non-empty host name, IPv4 address or
// either with a port: Request.Write sends it unchanged.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == ':', c == '_':
		default:
			return false
		}
	}
	return true
}

// hasCTL reports whether s has a control byte, which Request.Write
// refuses in the target.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}
