package tracing

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	gwcrt "github.com/gwc-dev/gwc/runtime"
)

// BenchmarkSpan is the tracing work of one request at each sampling
// percentage, spans recorded but not exported (disableSpanReporting): what
// tracing adds to the request path before the export queue.
func BenchmarkSpan(b *testing.B) {
	for _, pct := range []float64{0, 1, 100} {
		b.Run(strconv.FormatFloat(pct, 'f', -1, 64)+"%", func(b *testing.B) {
			tr := New(Spec{Provider: "otel", Kind: "opentelemetry", SamplingPercent: pct, DisableSpanReporting: true,
				Operations: []Operation{{Port: 80, Route: "r", Name: "a:8080/*"}}})
			if err := tr.Start(slog.New(slog.NewTextHandler(io.Discard, nil)), "istio-ingressgateway", "istio-system"); err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://shop.example.com/api/items", nil)
			r.Header.Set("X-Request-Id", "7c2c5f4e-0f7c-4b5e-9b2a-3f6f1d0e8a11")
			b.ReportAllocs()
			for b.Loop() {
				delete(r.Header, "Traceparent")
				if sp := tr.Begin(r, 80); sp != nil {
					sp.End(gwcrt.SpanEnd{Route: "r", Status: http.StatusOK, Flags: "-", Cluster: "outbound|8080||a", BytesSent: 100})
				}
			}
		})
	}
}
