package runtime

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Response compression as Envoy's compressor filter does it, configured per
// route by gwc.io/compression: the encoding is negotiated from
// Accept-Encoding with q-values among those the route offers, only
// compressible content types of at least compressMinLength bytes are
// compressed, an encoded response is left alone, Vary: Accept-Encoding is
// set and a strong ETag weakened. The body is compressed as it streams: a
// flush from the proxy flushes the encoder, nothing is buffered whole.

// encoding is one content coding the runtime implements.
type encoding uint8

const (
	encGzip encoding = iota + 1
	encZstd
)

func (e encoding) String() string {
	switch e {
	case encGzip:
		return "gzip"
	case encZstd:
		return "zstd"
	}
	return "identity"
}

// coding is an encoding at a level.
type coding struct {
	enc   encoding
	level uint8
}

// Default levels. gzip's is klauspost's default: on JSON it compresses
// smaller than zlib's level 6 (Envoy's DEFAULT_COMPRESSION and a common
// nginx setting) in about half the CPU time, and both faster and smaller
// than its own level 6. zstd's is zstd's own default, as Envoy's.
const (
	gzipLevel    = 5
	maxGzipLevel = 9
	zstdLevel    = 3
	maxZstdLevel = 22
)

// compressMinLength is Envoy's default min_content_length.
const compressMinLength = 30

// compressibleTypes are Envoy's default content types for compression.
var compressibleTypes = []string{
	"application/javascript", "application/json", "application/xhtml+xml", "image/svg+xml",
	"text/css", "text/html", "text/plain", "text/xml",
}

var valAcceptEncoding = []string{"Accept-Encoding"}

// prepareCompression reads Compression: each entry "NAME" or
// "NAME;level=N", as the compiler writes them.
func (r *Route) prepareCompression() error {
	if len(r.Compression) == 0 && r.encodings == nil {
		return nil // a write would copy the route's page of the literal (nowrite.go)
	}
	r.encodings = r.encodings[:0]
	for _, entry := range r.Compression {
		name, param, hasParam := strings.Cut(entry, ";")
		var c coding
		var maxLevel int
		switch strings.ToLower(name) {
		case "gzip":
			c, maxLevel = coding{encGzip, gzipLevel}, maxGzipLevel
		case "zstd":
			c, maxLevel = coding{encZstd, zstdLevel}, maxZstdLevel
		default:
			return fmt.Errorf("compression: unknown encoding %q (want gzip or zstd)", name)
		}
		if hasParam {
			v, ok := strings.CutPrefix(param, "level=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 1 || n > maxLevel {
				return fmt.Errorf("compression: bad parameter %q for %s (want level=1 to level=%d)", param, name, maxLevel)
			}
			c.level = uint8(n)
		}
		r.encodings = append(r.encodings, c)
	}
	return nil
}

// negotiate picks the coding for a request from the route's offer: the
// highest q-value the client gives, ties going to the route's order; the
// zero coding when the client accepts none of them.
func negotiate(offer []coding, acceptEncoding []string) coding {
	var best coding
	bestQ := 0.0
	for _, c := range offer {
		q := acceptQ(acceptEncoding, c.enc.String())
		if q > bestQ {
			best, bestQ = c, q
		}
	}
	return best
}

// acceptQ returns the q-value Accept-Encoding gives coding: its own entry,
// else "*", else 0.
func acceptQ(values []string, coding string) float64 {
	q, star := -1.0, -1.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			iq := 1.0
			if p := strings.TrimSpace(params); p != "" {
				k, val, ok := strings.Cut(p, "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					iq = f
				}
			}
			switch {
			case strings.EqualFold(name, coding):
				q = iq
			case name == "*":
				star = iq
			}
		}
	}
	if q >= 0 {
		return q
	}
	return max(star, 0)
}

// compressWriter encodes a response body on its way to the client.
type compressWriter struct {
	w       http.ResponseWriter
	r       *http.Request
	enc     coding // chosen for the request; zero when the client accepts none
	decided bool
	// sized says the upstream gave a Content-Length: the body is a
	// document, not a stream, and flushes are left to the end.
	sized bool
	// out is the active encoder; nil when the response passes through.
	out interface {
		io.Writer
		Flush() error
	}
	gz *gzip.Writer
	zs *zstd.Encoder
}

// newCompressWriter returns a writer compressing the response to r for
// route rt, or nil when the route does not compress.
func newCompressWriter(w http.ResponseWriter, r *http.Request, rt *Route) *compressWriter {
	if len(rt.encodings) == 0 {
		return nil
	}
	return &compressWriter{w: w, r: r, enc: negotiate(rt.encodings, r.Header["Accept-Encoding"])}
}

func (c *compressWriter) Header() http.Header { return c.w.Header() }

func (c *compressWriter) WriteHeader(code int) {
	if code >= 200 && !c.decided {
		c.decide(code)
	}
	c.w.WriteHeader(code)
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.out == nil {
		return c.w.Write(p)
	}
	return c.out.Write(p)
}

// decide settles, before the headers go out, whether the body is encoded.
func (c *compressWriter) decide(code int) {
	c.decided = true
	h := c.w.Header()
	if !c.eligible(code, h) {
		return
	}
	h["Vary"] = appendVary(h["Vary"])
	if c.enc.enc == 0 {
		return
	}
	h["Content-Encoding"] = []string{c.enc.enc.String()}
	_, c.sized = h["Content-Length"]
	delete(h, "Content-Length")
	if et := h["Etag"]; len(et) > 0 && !strings.HasPrefix(et[0], "W/") {
		h["Etag"] = []string{"W/" + et[0]}
	}
	switch c.enc.enc {
	case encGzip:
		c.gz = getGzip(c.enc.level)
		c.gz.Reset(c.w)
		c.out = c.gz
	case encZstd:
		c.zs = getZstd(c.enc.level)
		c.zs.Reset(c.w)
		c.out = c.zs
	}
}

// eligible reports whether a response may be compressed at all (whatever
// the client accepts).
func (c *compressWriter) eligible(code int, h http.Header) bool {
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusPartialContent:
		return false
	case c.r.Method == http.MethodHead:
		return false
	case len(h["Content-Encoding"]) > 0: // never twice
		return false
	case strings.Contains(strings.ToLower(strings.Join(h["Cache-Control"], ",")), "no-transform"):
		return false
	}
	if cl := h["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n < compressMinLength {
			return false
		}
	}
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct[0])
	if err != nil {
		return false
	}
	for _, t := range compressibleTypes {
		if mt == t {
			return true
		}
	}
	return false
}

func appendVary(v []string) []string {
	for _, x := range v {
		for f := range strings.SplitSeq(x, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return v
			}
		}
	}
	if len(v) == 0 {
		return valAcceptEncoding
	}
	return append(v[:len(v):len(v)], "Accept-Encoding")
}

// Flush pushes what the encoder holds to the client, so streamed responses
// (server-sent events, gRPC-Web; no Content-Length) keep flowing. The proxy
// flushes after every upstream read; for a sized body that would cut the
// compressed stream into small blocks, so it waits for the end instead.
func (c *compressWriter) Flush() {
	if c.out != nil {
		if c.sized {
			return
		}
		c.out.Flush()
	}
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *compressWriter) Unwrap() http.ResponseWriter { return c.w }

// finish ends the encoded stream and recycles the encoder.
func (c *compressWriter) finish() {
	switch {
	case c.gz != nil:
		c.gz.Close()
		c.gz.Reset(io.Discard)
		gzipPools[c.enc.level].push(c.gz)
	case c.zs != nil:
		c.zs.Close()
		c.zs.Reset(nil)
		zstdPools[c.enc.level].push(c.zs)
	}
	c.gz, c.zs, c.out = nil, nil, nil
}

// Encoders are expensive to create (a level-6 deflate state is hundreds of
// KiB), so they are reused, most recently used first, while its tables are
// still in the CPU cache. Unlike a sync.Pool the stack keeps them across
// garbage collections, which a busy proxy runs often.
const encoderPoolSize = 64

type encoderStack[T any] struct {
	mu    sync.Mutex
	items []T
}

func (s *encoderStack[T]) pop() (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	v := s.items[len(s.items)-1]
	s.items[len(s.items)-1] = zero
	s.items = s.items[:len(s.items)-1]
	return v, true
}

func (s *encoderStack[T]) push(v T) {
	s.mu.Lock()
	if len(s.items) < encoderPoolSize {
		s.items = append(s.items, v)
	}
	s.mu.Unlock()
}

// One stack per level: an encoder's level is fixed when it is made.
var (
	gzipPools [maxGzipLevel + 1]encoderStack[*gzip.Writer]
	zstdPools [maxZstdLevel + 1]encoderStack[*zstd.Encoder]
)

func getGzip(level uint8) *gzip.Writer {
	if w, ok := gzipPools[level].pop(); ok {
		return w
	}
	w, _ := gzip.NewWriterLevel(io.Discard, int(level)) // Prepare checked the level
	return w
}

func getZstd(level uint8) *zstd.Encoder {
	if e, ok := zstdPools[level].pop(); ok {
		return e
	}
	// One goroutine per encoder and a 1 MiB window keep memory per stream
	// bounded. klauspost implements four speeds; a zstd level picks the
	// nearest.
	e, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20),
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(int(level))))
	return e
}
