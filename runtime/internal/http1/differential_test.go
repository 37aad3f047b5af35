package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The engine is checked against net/http, continuously: the same bytes go
// to the engine and to net/http's request parser (http.ReadRequest plus
// the checks net/http's server adds), request by request along a pipelined
// stream. Either both reject, or both accept with equal method, target,
// protocol, host, header fields, body and trailers, or the engine rejects
// for one of its documented stricter rules (stricterThanNetHTTP). The
// engine never accepts what net/http rejects.

// stricterThanNetHTTP are the rules by which the engine refuses requests
// net/http serves, each from RFC 9112 or Envoy's codec (see head.go).
var stricterThanNetHTTP = map[string]string{
	"content_length_and_chunked_not_allowed": "RFC 9112 6.1; Envoy: 400 and close",
	"too_many_headers":                       "Envoy max_request_headers_count 100",
	"transfer_encoding_in_http10":            "RFC 9112 6.1: faulty framing",
	"invalid_method":                         "Envoy's codec knows a fixed method set",
	"invalid_request_target":                 "RFC 9112 3.2: the four target forms only",
	"invalid_request_line":                   "RFC 9112 3: exactly one SP between parts",
	"invalid_http_version":                   "only HTTP/1.0 and HTTP/1.1 on this codec",
	"obs_fold_not_allowed":                   "RFC 9112 5.2",
	"whitespace_before_colon":                "RFC 9112 5.1",
	"invalid_chunk":                          "RFC 9112 7.1: CRLF after chunk lines and data, no bare LF",
	"chunk_line_too_long":                    "chunk line over 4096 bytes",
	"invalid_trailer":                        "RFC 9110 6.5.1: no framing fields as trailers; CRLF only",
	"invalid_host_header":                    "RFC 3986 3.2.2 characters only",
	"unsupported_transfer_encoding":          "RFC 9112 6.1: only one chunked",
	"bare_cr":                                "RFC 9112 2.2",
	"invalid_header_value":                   "RFC 9110 5.5",
	"invalid_content_length":                 "RFC 9110 8.6: 1*DIGIT, equal values",
	"headers_too_large":                      "Envoy max_request_headers_kb 60",
}

// outcome is what became of one request of a stream.
type outcome struct {
	rejected bool
	reason   string
	method   string
	target   string
	proto    string
	host     string
	header   http.Header
	body     string
	trailer  http.Header
}

func (o outcome) String() string {
	if o.rejected {
		return "rejected: " + o.reason
	}
	return fmt.Sprintf("%s %s %s host=%q header=%v body=%q trailer=%v", o.method, o.target, o.proto, o.host, o.header, o.body, o.trailer)
}

// memConn is a connection whose input is fixed bytes.
type memConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error)         { return c.in.Read(p) }
func (c *memConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

// engineOutcomes serves data on the engine and returns each request's
// outcome, in order.
func engineOutcomes(data []byte) []outcome {
	var mu sync.Mutex
	var out []outcome
	s := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// The engine refuses the body's framing; Rejected says why.
				out = append(out, outcome{rejected: true})
				return
			}
			out = append(out, outcome{method: r.Method, target: r.RequestURI, proto: r.Proto, host: r.Host,
				header: r.Header.Clone(), body: string(b), trailer: r.Trailer.Clone()})
		}),
		Rejected: func(_ net.Conn, status int, reason string) {
			mu.Lock()
			defer mu.Unlock()
			if n := len(out); n > 0 && out[n-1].rejected && out[n-1].reason == "" {
				out[n-1].reason = reason
				return
			}
			out = append(out, outcome{rejected: true, reason: reason})
		},
	}
	s.ServeConn(&memConn{in: bytes.NewReader(data)})
	return out
}

// netHTTPOutcomes parses data as net/http's server would, up to the first
// rejection or a request that ends the connection.
func netHTTPOutcomes(data []byte) []outcome {
	src := bytes.NewReader(data)
	br := bufio.NewReaderSize(src, 4096)
	var out []outcome
	for {
		// net/http's server drops up to 4 bytes of CR and LF before a
		// request (RFC 9112 section 2.2).
		peek, _ := br.Peek(4)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		br.Discard(n)
		if _, err := br.Peek(1); err != nil {
			return out
		}
		at := len(data) - src.Len() - br.Buffered()
		r, err := http.ReadRequest(br)
		if err == nil {
			err = serverChecks(r, hostFields(data[at:]))
		}
		if err != nil {
			return append(out, outcome{rejected: true, reason: err.Error()})
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return append(out, outcome{rejected: true, reason: err.Error()})
		}
		delete(r.Header, "Host")
		out = append(out, outcome{method: r.Method, target: r.RequestURI, proto: r.Proto, host: r.Host,
			header: r.Header, body: string(b), trailer: r.Trailer})
		if r.Close || r.ProtoMinor == 0 {
			return out
		}
	}
}

// hostFields returns the Host fields of the head at the start of data,
// which ReadRequest moves out of the header map.
func hostFields(data []byte) []string {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	h, _ := tp.ReadMIMEHeader()
	return h["Host"]
}

// serverChecks are what net/http's server checks after ReadRequest.
func serverChecks(r *http.Request, hosts []string) error {
	if r.ProtoMajor != 1 {
		return fmt.Errorf("unsupported protocol version")
	}
	ok := hosts != nil
	if r.ProtoAtLeast(1, 1) && (!ok || len(hosts) == 0) && r.Method != "CONNECT" {
		return fmt.Errorf("missing required Host header")
	}
	if len(hosts) > 1 {
		return fmt.Errorf("too many Host headers")
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return fmt.Errorf("malformed Host header")
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header name")
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("invalid header value")
			}
		}
	}
	return nil
}

// normalise applies to net/http's view what the engine does on purpose:
// it removes an Upgrade that Connection does not name, and an h2c upgrade
// (Envoy's behaviour), and adds no Cache-Control for Pragma (net/http's
// HTTP/1.0 compatibility, which Envoy does not have).
func normalise(ref, got *outcome) {
	h := ref.header
	if v, ok := h["Cache-Control"]; ok && got.header["Cache-Control"] == nil && slices.Equal(v, []string{"no-cache"}) {
		delete(h, "Cache-Control")
	}
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") {
		delete(h, "Upgrade")
	} else if v := h["Upgrade"]; len(v) == 1 && strings.EqualFold(v[0], "h2c") {
		delete(h, "Upgrade")
		delete(h, "Http2-Settings")
	}
	if len(ref.trailer) == 0 {
		ref.trailer = nil
	}
	if len(got.trailer) == 0 {
		got.trailer = nil
	}
}

func equalOutcome(a, b outcome) bool {
	return a.method == b.method && a.target == b.target && a.proto == b.proto && a.host == b.host &&
		a.body == b.body && maps.EqualFunc(a.header, b.header, slices.Equal) &&
		maps.EqualFunc(a.trailer, b.trailer, slices.Equal)
}

// compare returns what is wrong with the engine's outcomes against
// net/http's, or "".
func compare(data []byte) string {
	ref := netHTTPOutcomes(data)
	got := engineOutcomes(data)
	for i := range max(len(ref), len(got)) {
		switch {
		case i >= len(got):
			// The engine stopped early: only after a rejection, which was
			// checked at its index.
			return ""
		case i >= len(ref) && got[i].rejected:
			// Bytes net/http would have closed the connection on.
			return ""
		case i >= len(ref):
			return fmt.Sprintf("request %d: engine %v, net/http had stopped", i, got[i])
		}
		r, g := ref[i], got[i]
		switch {
		case r.rejected && g.rejected:
			return ""
		case r.rejected:
			return fmt.Sprintf("request %d: net/http rejects (%s), the engine accepts: %v", i, r.reason, g)
		case g.rejected:
			if _, ok := stricterThanNetHTTP[g.reason]; !ok {
				return fmt.Sprintf("request %d: engine rejects (%s) what net/http accepts: %v", i, g.reason, r)
			}
			return ""
		}
		normalise(&r, &g)
		if !equalOutcome(r, g) {
			return fmt.Sprintf("request %d differs:\n  net/http: %v\n  engine:   %v", i, r, g)
		}
	}
	return ""
}

// smugglingSeeds are the published request smuggling families and the
// inputs of the old framing guard's tests.
var smugglingSeeds = []string{
	// CL.TE and TE.CL
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n",
	// TE.TE obfuscations
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nX: X\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\n: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-encoding: cHuNkEd\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:" + strings.Repeat(" ", 300) + "chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
	// chunk extensions and bare LF ("funky chunks")
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\rc\r\nxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\nxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxx\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\nxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nxx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=\"a;b\"\r\nxx\r\n2 \r\nyy\r\n0\r\nX-T: 1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n1\r\nx\r\n0\r\nX-T: v\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nContent-Length: 5\r\n\r\n",
	// h2c upgrade smuggling
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	// pipelining after a rejected body
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx",
	"POST / HTTP/1.0\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n00000",
	// the request line
	"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /\tHTTP/1.1\r\nHost: a\r\n\r\n",
	"get / HTTP/1.1\r\nHost: a\r\n\r\n",
	"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
	"GET http://b.example/x?y HTTP/1.1\r\nHost: a\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
	"GET /a%2Fb?q=%20 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	// header fields
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX\x01: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nx-lower: v\r\nX-LOWER: w\r\nContent-Type:  text/plain \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-H: v\r\n", 101) + "\r\n",
	"POST / HTTP/1.1\nHost: a\nContent-Length: 2\n\nokGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
}

func TestDifferentialSeeds(t *testing.T) {
	for _, s := range smugglingSeeds {
		if msg := compare([]byte(s)); msg != "" {
			t.Errorf("%q:\n%s", s, msg)
		}
	}
}

// FuzzDifferential runs in `make test` on the seeds and the committed
// corpus (testdata/fuzz); `make fuzz` runs it for longer.
func FuzzDifferential(f *testing.F) {
	for _, s := range smugglingSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if msg := compare(data); msg != "" {
			t.Fatal(msg)
		}
	})
}
