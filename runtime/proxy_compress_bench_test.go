package runtime

import (
	stdgzip "compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkCompress measures compressing a 100 KiB JSON response through
// the compressing writer (pooled encoders), and klauspost's and the standard
// library's gzip at levels 1 and 6 for reference. nginx's gzip is zlib;
// compare with zlib's figures in docs/benchmarks.md.
func BenchmarkCompress(b *testing.B) {
	doc := jsonBody()
	rt := &Route{Compression: []string{"gzip", "zstd"}}
	if err := rt.prepareCompression(); err != nil {
		b.Fatal(err)
	}
	through := func(b *testing.B, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", accept)
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			w := discardWriter{h: http.Header{"Content-Type": {"application/json"}}}
			cw := newCompressWriter(&w, r, rt)
			cw.Write(doc)
			cw.finish()
		}
	}
	b.Run("gzip-5", func(b *testing.B) { through(b, "gzip") })
	b.Run("zstd-3", func(b *testing.B) { through(b, "zstd") })
	for _, level := range []int{1, 6} {
		b.Run("klauspost-gzip-"+string(rune('0'+level)), func(b *testing.B) {
			zw, _ := gzip.NewWriterLevel(io.Discard, level)
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				zw.Reset(io.Discard)
				zw.Write(doc)
				zw.Close()
			}
		})
		b.Run("stdlib-gzip-"+string(rune('0'+level)), func(b *testing.B) {
			zw, _ := stdgzip.NewWriterLevel(io.Discard, level)
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				zw.Reset(io.Discard)
				zw.Write(doc)
				zw.Close()
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps headers and drops the body.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
