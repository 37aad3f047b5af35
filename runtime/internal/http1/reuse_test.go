package http1

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// The engine reuses one *http.Request per connection; what a handler puts
// in the request's context (the gateway's verified identity) must not
// reach the next request on the connection.
func TestContextNotCarriedToNextRequest(t *testing.T) {
	type key struct{}
	var seen []any
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Context().Value(key{}))
		if r.Header.Get("X-Identity") != "" {
			*r = *r.WithContext(context.WithValue(r.Context(), key{}, r.Header.Get("X-Identity")))
		}
	})}
	s.ServeConn(&memConn{in: bytes.NewReader([]byte(
		"GET /a HTTP/1.1\r\nHost: h\r\nX-Identity: alice\r\n\r\n" +
			"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))})
	if len(seen) != 2 || seen[0] != nil || seen[1] != nil {
		t.Fatalf("context values seen by the two requests: %v, want [<nil> <nil>]", seen)
	}
}
