package runtime

import (
	"net/http/httptest"
	"net/http/httputil"
	"testing"
)

// BenchmarkRewrite measures the request rewrite alone: path normalisation,
// target, X-Forwarded-For/-Proto and a new X-Request-Id. The outbound
// request is reused, so the figures exclude ReverseProxy's clone of the
// request, which BenchmarkHandler includes.
func BenchmarkRewrite(b *testing.B) {
	for _, tc := range []struct{ name, target, xff string }{
		{"plain", "/api/users/42?page=2", ""},
		{"dotted+xff", "/api/./v1/../users/%2e%2e/42?page=2", "10.0.0.1, 10.0.0.2"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in := httptest.NewRequest("GET", tc.target, nil)
			in.Host = "a.example.com"
			in.Header.Set("User-Agent", "bench")
			if tc.xff != "" {
				in.Header.Set("X-Forwarded-For", tc.xff)
			}
			pr := &httputil.ProxyRequest{In: in, Out: in.Clone(in.Context())}
			p := &proxy{}
			b.ReportAllocs()
			for b.Loop() {
				p.rewrite(pr)
			}
			if pr.Out.Header.Get("X-Request-Id") == "" || pr.Out.Header.Get("X-Forwarded-For") == "" {
				b.Fatalf("rewrite set %v", pr.Out.Header)
			}
		})
	}
}
