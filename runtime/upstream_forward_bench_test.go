package runtime

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRoundTrip compares one upstream round trip (a GET with a small
// response, over a kept-alive loopback connection) through the forwarder
// and through http.Transport. Each request has its own cancellable
// context, as a server's requests have.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"forwarder", newForwarder(newTransport())},
		{"transport", newTransport()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				resp, err := tc.rt.RoundTrip(req.WithContext(ctx))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				cancel()
			}
			tc.rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
		})
	}
}
