package runtime

import (
	"bufio"
	"bytes"
	"io"
	"net/http"

	"github.com/gwc-dev/gwc/runtime/internal/http1"
)

// The forwarder reads upstream responses with net/http's parser
// (http.ReadResponse), except for the one shape nearly every upstream
// answers a GET with: "HTTP/1.1 <code> <reason>", plain header lines with
// CRLF, one Content-Length and no Transfer-Encoding or trailers, all
// already buffered. That shape is parsed here into storage the request
// reuses (the response, its header map, its body reader), which saves the
// eight allocations ReadResponse makes per response. Anything else, or
// anything this parser is not sure of, goes to http.ReadResponse on the
// same bytes; FuzzFastResponse checks that both agree wherever this one
// accepts.

// fastResponse is the storage a fast-parsed response reuses.
type fastResponse struct {
	resp http.Response
	hdr  http.Header
	body fixedBody
}

// read parses the response head buffered in br, if it has the plain shape,
// for a request with method req.Method. It reports false, consuming
// nothing, for any other response.
func (f *fastResponse) read(br *bufio.Reader, req *http.Request) (*http.Response, bool) {
	if req.Method == http.MethodHead {
		return nil, false
	}
	b, _ := br.Peek(br.Buffered())
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	head := b[:end+2] // every line with its CRLF
	nl := bytes.IndexByte(head, '\n')
	line := head[:nl-1]
	// "HTTP/1.1 " 3DIGIT SP reason, a 2xx-5xx other than 204 and 304
	// (which have no body and their own rules).
	if len(line) < 14 || string(line[:9]) != "HTTP/1.1 " || line[12] != ' ' {
		return nil, false
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified || !plainText(line[13:]) {
		return nil, false
	}
	// Check every header line before changing anything.
	lines, clen, hasCL := 0, int64(0), false
	for rest := head[nl+1:]; len(rest) > 0; lines++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 1 || rest[i-1] != '\r' {
			return nil, false
		}
		l := rest[:i-1]
		rest = rest[i+1:]
		colon := bytes.IndexByte(l, ':')
		if colon < 1 || !plainName(l[:colon]) {
			return nil, false
		}
		v := bytes.Trim(l[colon+1:], " \t")
		if !plainText(v) && len(v) > 0 {
			return nil, false
		}
		switch {
		case http1.EqualFold(l[:colon], "content-length"):
			n, err := http1.ParseContentLength(v)
			if err != nil || hasCL {
				return nil, false
			}
			clen, hasCL = n, true
		case http1.EqualFold(l[:colon], "transfer-encoding"), http1.EqualFold(l[:colon], "trailer"):
			return nil, false
		}
	}
	if !hasCL {
		return nil, false
	}
	// Canonical names, as textproto makes them, in the buffer itself: the
	// bytes are consumed below.
	for rest := head[nl+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		http1.Canonicalize(rest[:bytes.IndexByte(rest, ':')])
		rest = rest[i+1:]
	}
	hs := string(head)
	if f.hdr == nil {
		f.hdr = make(http.Header, 8)
	}
	clear(f.hdr)
	vals := make([]string, lines)
	off, k := nl+1, 0
	for off < len(hs) {
		i := off + bytes.IndexByte(head[off:], '\n')
		l := hs[off : i-1]
		colon := bytes.IndexByte(head[off:i], ':')
		name, v := l[:colon], trimBlanks(l[colon+1:])
		if old, ok := f.hdr[name]; ok {
			f.hdr[name] = append(old, v)
		} else {
			vals[k] = v
			f.hdr[name] = vals[k : k+1 : k+1]
			k++
		}
		off = i + 1
	}
	br.Discard(end + 4)
	r := &f.resp
	*r = http.Response{
		Status: hs[9 : nl-1], StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: f.hdr, ContentLength: clen, Request: req,
	}
	// RFC 9112 section 9.6, as net/http reads it: "close" among the
	// Connection options ends the connection, and the field goes.
	if conn, ok := f.hdr["Connection"]; ok && containsToken(conn, "close") {
		r.Close = true
		delete(f.hdr, "Connection")
	}
	if clen == 0 {
		r.Body = http.NoBody
	} else {
		f.body = fixedBody{br: br, remain: clen}
		r.Body = &f.body
	}
	return r, true
}

// plainText reports whether b holds only visible ASCII, SP and HTAB.
func plainText(b []byte) bool {
	for _, c := range b {
		if (c < ' ' || c > '~') && c != '\t' {
			return false
		}
	}
	return len(b) > 0
}

// plainName reports whether a header name has only letters, digits and
// "-": names textproto canonicalises exactly as http1.Canonicalize does.
func plainName(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func trimBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// fixedBody reads a Content-Length body from the connection's reader.
type fixedBody struct {
	br     *bufio.Reader
	remain int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.remain == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	switch {
	case b.remain == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }
