package runtime

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"testing"
)

// FuzzFastResponse checks the forwarder's fast response parser against
// http.ReadResponse: wherever the fast path accepts a response, net/http
// reads the same status, header fields, framing and body from the same
// bytes. (Where it declines, net/http parses the response anyway.)
func FuzzFastResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
		"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-multi: a\r\nX-Multi: b\r\nConnection: keep-alive\r\n\r\nok",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nX-Empty:\r\nX-Tab:\tv\t\r\nContent-Length: 3\r\n\r\nnop",
		"HTTP/1.1 200 OK\r\nX_Under: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n1234567",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, _ := http.NewRequest("GET", "http://a/", nil)
		var fr fastResponse
		got, ok := fr.read(bufio.NewReaderSize(bytes.NewReader(data), 64<<10), req)
		if !ok {
			return
		}
		brBig := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
		brBig.Peek(1)
		want, err := http.ReadResponse(brBig, req)
		if err != nil {
			t.Fatalf("fast path accepted what net/http rejects (%v): %q", err, data)
		}
		gotBody, gotErr := io.ReadAll(got.Body)
		wantBody, wantErr := io.ReadAll(want.Body)
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.Proto != want.Proto ||
			got.ContentLength != want.ContentLength || got.Close != want.Close ||
			!maps.EqualFunc(got.Header, want.Header, slices.Equal) ||
			!bytes.Equal(gotBody, wantBody) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q:\nfast:     %q %d %s cl=%d close=%v %v %q %v\nnet/http: %q %d %s cl=%d close=%v %v %q %v", data,
				got.Status, got.StatusCode, got.Proto, got.ContentLength, got.Close, got.Header, gotBody, gotErr,
				want.Status, want.StatusCode, want.Proto, want.ContentLength, want.Close, want.Header, wantBody, wantErr)
		}
	})
}
