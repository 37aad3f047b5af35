package runtime

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestNegotiate(t *testing.T) {
	gz, zs := coding{encGzip, gzipLevel}, coding{encZstd, zstdLevel}
	both := []coding{gz, zs}
	for _, tt := range []struct {
		offer  []coding
		accept string
		want   coding
	}{
		{both, "gzip", gz},
		{both, "zstd", zs},
		{both, "gzip, zstd", gz}, // tie: the route's order
		{[]coding{zs, gz}, "gzip, zstd", zs},
		{both, "gzip;q=0.5, zstd", zs},         // higher q wins
		{both, "gzip;q=0, zstd;q=0", coding{}}, // q=0 refuses
		{both, "*", gz},
		{both, "*;q=0.1, gzip;q=0", zs},
		{both, "br, identity", coding{}},
		{both, "", coding{}},
		{both, "GZIP;Q=1.0", gz},
		{both, "gzip;q=bogus", coding{}},
		{[]coding{zs}, "gzip", coding{}},
		{[]coding{{encGzip, 1}}, "gzip", coding{encGzip, 1}},
	} {
		var ae []string
		if tt.accept != "" {
			ae = []string{tt.accept}
		}
		if got := negotiate(tt.offer, ae); got != tt.want {
			t.Errorf("%v with %q: %v, want %v", tt.offer, tt.accept, got, tt.want)
		}
	}
}

// compressConfig routes everything to backend with gzip and zstd offered.
func compressConfig(t testing.TB, backend string) *Config {
	cfg := oneRoute(t, []Cluster{staticCluster("a", backend)})
	cfg.Listeners[0].VirtualHosts[0].Routes[0].Compression = []string{"gzip", "zstd"}
	return cfg
}

// jsonBody is a 100 KiB JSON document.
func jsonBody() []byte {
	var b bytes.Buffer
	b.WriteString("[")
	for i := 0; b.Len() < 100<<10; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b","c"],"price":%d.%02d}`, i, i, i*7%1000, i%100)
	}
	b.WriteString("]")
	return b.Bytes()
}

func decode(t *testing.T, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return body
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func TestCompression(t *testing.T) {
	doc := jsonBody()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/json":
			h.Set("Content-Type", "application/json; charset=utf-8")
			h.Set("Etag", `"v1"`)
			h.Set("Content-Length", fmt.Sprint(len(doc)))
			w.Write(doc)
		case "/png":
			h.Set("Content-Type", "image/png")
			w.Write(doc)
		case "/small":
			h.Set("Content-Type", "text/plain")
			w.Write([]byte("tiny"))
		case "/encoded":
			h.Set("Content-Type", "text/plain")
			h.Set("Content-Encoding", "br")
			w.Write(doc)
		}
	}))
	defer srv.Close()
	g := startGateway(t, compressConfig(t, hostPort(srv)))
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, tt := range []struct {
		path, accept, wantEnc string
		wantVary              bool
	}{
		{"/json", "gzip", "gzip", true},
		{"/json", "gzip;q=0.2, zstd", "zstd", true},
		{"/json", "br", "", true},
		{"/json", "", "", true},
		{"/png", "gzip", "", false},
		{"/small", "gzip", "", false},
		{"/encoded", "gzip", "br", false},
	} {
		req, _ := http.NewRequest("GET", "http://"+g.addr[80]+tt.path, nil)
		req.Host = "h"
		if tt.accept != "" {
			req.Header.Set("Accept-Encoding", tt.accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tt.path + " " + tt.accept
		if got := resp.Header.Get("Content-Encoding"); got != tt.wantEnc {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got, tt.wantEnc)
			continue
		}
		if got := resp.Header.Get("Vary") == "Accept-Encoding"; got != tt.wantVary {
			t.Errorf("%s: Vary %q", name, resp.Header.Get("Vary"))
		}
		if tt.path != "/json" {
			continue
		}
		if got := decode(t, tt.wantEnc, body); !bytes.Equal(got, doc) {
			t.Errorf("%s: decoded body differs (%d bytes, want %d)", name, len(got), len(doc))
		}
		if tt.wantEnc != "" {
			if len(body) >= len(doc)/2 {
				t.Errorf("%s: %d bytes compressed from %d", name, len(body), len(doc))
			}
			if et := resp.Header.Get("Etag"); et != `W/"v1"` {
				t.Errorf("%s: ETag %q, want weakened", name, et)
			}
			if resp.ContentLength != -1 {
				t.Errorf("%s: Content-Length %d kept", name, resp.ContentLength)
			}
		}
	}
}

// TestCompressionStreams checks a compressed response is not buffered: the
// client decodes the first part while the upstream still holds the rest.
func TestCompressionStreams(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("first part ", 10))
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second part")
	}))
	defer srv.Close()
	defer close(release)
	g := startGateway(t, compressConfig(t, hostPort(srv)))
	req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
	req.Host = "h"
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("not compressed: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("first part ", 10)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(zr, got); err != nil || string(got) != want {
		t.Fatalf("first part: %q %v", got, err)
	}
}

func TestPrepareRejectsUnknownEncoding(t *testing.T) {
	for entry, want := range map[string]string{
		"br":            `unknown encoding "br"`,
		"gzip;level=10": `bad parameter "level=10" for gzip`,
		"zstd;level=0":  `bad parameter "level=0" for zstd`,
		"gzip;window=9": `bad parameter "window=9" for gzip`,
	} {
		cfg := compressConfig(t, "127.0.0.1:1")
		cfg.Listeners[0].VirtualHosts[0].Routes[0].Compression = []string{entry}
		if err := cfg.Prepare(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Prepare of %q: %v, want %s", entry, err, want)
		}
	}
}

// TestCompressionLevels checks a route's level reaches the encoder: the
// same document comes out in a different size at level 1 and level 9 (not
// always smaller: klauspost's faster zstd speeds win on this document),
// and both decode to it.
func TestCompressionLevels(t *testing.T) {
	doc := jsonBody()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, enc := range []string{"gzip", "zstd"} {
		sizes := map[string]int{}
		for _, entry := range []string{enc + ";level=1", enc + ";level=9"} {
			cfg := compressConfig(t, hostPort(srv))
			cfg.Listeners[0].VirtualHosts[0].Routes[0].Compression = []string{entry}
			g := startGateway(t, cfg)
			req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
			req.Host = "h"
			req.Header.Set("Accept-Encoding", enc)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != enc {
				t.Fatalf("%s: Content-Encoding %q", entry, got)
			}
			if !bytes.Equal(decode(t, enc, body), doc) {
				t.Fatalf("%s: decoded body differs", entry)
			}
			sizes[entry] = len(body)
		}
		if lo, hi := sizes[enc+";level=1"], sizes[enc+";level=9"]; hi == lo {
			t.Errorf("%s: level 9 gave %d bytes, level 1 %d: the level is not applied", enc, hi, lo)
		}
	}
}
