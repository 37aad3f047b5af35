package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestWriteRequestHead checks that writeRequestHead writes what
// Request.Write writes, byte for byte, for every request it takes, and
// that it leaves the others to Request.Write.
func TestWriteRequestHead(t *testing.T) {
	type req struct {
		method, host, opaque, query string
		force, close                bool
		header                      http.Header
		te                          []string
		trailer                     http.Header
		length                      int64
		path                        string // URL.Path when opaque is empty
	}
	many := http.Header{}
	for i := range 70 {
		many[fmt.Sprintf("X-H%02d", i)] = []string{"v"}
	}
	cases := []struct {
		name string
		r    req
		fast bool
	}{
		{"get", req{method: "GET", host: "a.example.com", opaque: "/p"}, true},
		{"empty method", req{host: "a.example.com:8080", opaque: "/p"}, true},
		{"query", req{method: "GET", host: "a", opaque: "/p", query: "a=1;b=%zz&c"}, true},
		{"force query", req{method: "GET", host: "a", opaque: "/p", force: true}, true},
		{"headers", req{method: "GET", host: "10.0.0.1:80", opaque: "/", header: http.Header{
			"X-B": {" padded\t", "two"}, "X-A": {"1"}, "X-Empty": {}, "X-Blank": {""}, "Accept": {"*/*"},
			"Content-Length": {"9"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}, "Host": {"other"},
		}}, true},
		{"user agent", req{method: "GET", host: "a", opaque: "/", header: http.Header{"User-Agent": {"  ua 1 ", "ua 2"}}}, true},
		{"empty user agent", req{method: "GET", host: "a", opaque: "/", header: http.Header{"User-Agent": {""}}}, true},
		{"user agent with no value", req{method: "GET", host: "a", opaque: "/", header: http.Header{"User-Agent": {}}}, true},
		{"post", req{method: "POST", host: "a", opaque: "/"}, true},
		{"put", req{method: "PUT", host: "a", opaque: "/"}, true},
		{"patch", req{method: "PATCH", host: "a", opaque: "/"}, true},
		{"delete", req{method: "DELETE", host: "a", opaque: "/"}, true},
		{"head", req{method: "HEAD", host: "a_b", opaque: "/"}, true},
		{"options", req{method: "OPTIONS", host: "a", opaque: "*"}, true},
		{"close", req{method: "GET", host: "a", opaque: "/", close: true}, false},
		{"identity", req{method: "DELETE", host: "a", opaque: "/", te: []string{"identity"}}, false},
		{"trailer", req{method: "GET", host: "a", opaque: "/", trailer: http.Header{"X": nil}}, false},
		{"length without body", req{method: "GET", host: "a", opaque: "/", length: 3}, false},
		{"ipv6", req{method: "GET", host: "[::1]:80", opaque: "/"}, false},
		{"zone", req{method: "GET", host: "[fe80::1%25eth0]:80", opaque: "/"}, false},
		{"unicode host", req{method: "GET", host: "bücher.example", opaque: "/"}, false},
		{"empty host", req{method: "GET", opaque: "/"}, false},
		{"bad host", req{method: "GET", host: "a b", opaque: "/"}, false},
		{"double slash", req{method: "GET", host: "a", opaque: "//x"}, false},
		{"no opaque", req{method: "GET", host: "a", path: "/a b"}, false},
		{"control in query", req{method: "GET", host: "a", opaque: "/", query: "a\x01"}, false},
		{"many headers", req{method: "GET", host: "a", opaque: "/", header: many}, false},
	}
	for _, tc := range cases {
		r := &http.Request{
			Method: tc.r.method, Host: tc.r.host, Close: tc.r.close, TransferEncoding: tc.r.te,
			Trailer: tc.r.trailer, ContentLength: tc.r.length, Header: tc.r.header,
			URL: &url.URL{Scheme: "http", Host: "127.0.0.1:1", Opaque: tc.r.opaque, Path: tc.r.path,
				RawQuery: tc.r.query, ForceQuery: tc.r.force},
		}
		if r.Header == nil {
			r.Header = http.Header{}
		}
		var got bytes.Buffer
		bw := bufio.NewWriter(&got)
		fast, err := writeRequestHead(bw, r)
		bw.Flush()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if fast != tc.fast {
			t.Errorf("%s: took it %v, want %v", tc.name, fast, tc.fast)
		}
		if !fast {
			if got.Len() > 0 {
				t.Errorf("%s: wrote %q though it did not take it", tc.name, got.String())
			}
			continue
		}
		var want bytes.Buffer
		if err := r.Write(&want); err != nil {
			t.Fatalf("%s: Request.Write: %v", tc.name, err)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got.String(), want.String())
		}
	}
}
