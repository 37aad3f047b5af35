package main

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestH2MalformedNeverForwarded holds, with a raw HTTP/2 client on h2c,
// what gwc promises for the h2spec cases net/http's server fails (see
// h2specGoBound): a malformed request is answered at the edge and never
// reaches an upstream, and a SETTINGS frame naming a setting twice ends
// the connection before any request on it is served.
func TestH2MalformedNeverForwarded(t *testing.T) {
	var served atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte("served"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("web", "web.shop.svc.cluster.local", ln.Addr().(*net.TCPAddr).Port),
		"vs.yaml":      shopRoute("web"),
	})
	in := startIngress(t, bin, 80)
	in.mu.Lock()
	addr := in.ports[80]
	in.mu.Unlock()

	for _, c := range []struct {
		name   string
		header [][2]string
	}{
		{"connection", [][2]string{{"connection", "keep-alive"}}},
		{"keep-alive", [][2]string{{"keep-alive", "timeout=5"}}},
		{"proxy-connection", [][2]string{{"proxy-connection", "keep-alive"}}},
		{"transfer-encoding", [][2]string{{"transfer-encoding", "chunked"}}},
		{"upgrade", [][2]string{{"upgrade", "websocket"}}},
		{"te", [][2]string{{"te", "trailers, deflate"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dialH2C(t, addr)
			if got := conn.request(t, c.header, nil); got != 400 {
				t.Errorf("status %d, want 400 from net/http's HTTP/2 server", got)
			}
		})
	}
	if n := served.Load(); n != 0 {
		t.Fatalf("the backend served %d malformed requests", n)
	}

	t.Run("duplicate settings", func(t *testing.T) {
		conn := dialH2C(t, addr)
		dup := []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 100}, {ID: http2.SettingInitialWindowSize, Val: 1}}
		if got := conn.request(t, nil, dup); got != -1 {
			t.Errorf("status %d, want the connection ended (GOAWAY PROTOCOL_ERROR, golang/go#56760)", got)
		}
		if n := served.Load(); n != 0 {
			t.Fatalf("the backend served %d requests sent after duplicate settings", n)
		}
	})

	// The same client with a well-formed request reaches the backend: the
	// counts above are not zero for want of a working path.
	conn := dialH2C(t, addr)
	if got := conn.request(t, [][2]string{{"te", "trailers"}}, nil); got != 200 || served.Load() != 1 {
		t.Fatalf("well-formed request: status %d, backend served %d, want 200 and 1", got, served.Load())
	}
}

// h2Conn is a raw HTTP/2 client connection with prior knowledge.
type h2Conn struct {
	c  net.Conn
	fr *http2.Framer
}

func dialH2C(t *testing.T, addr string) *h2Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	return &h2Conn{c: c, fr: http2.NewFramer(c, c)}
}

// request sends SETTINGS (with extra), then a GET on stream 1 with the
// extra header fields, and returns the response's status, or -1 when the
// server ends the connection instead.
func (h *h2Conn) request(t *testing.T, extra [][2]string, settings []http2.Setting) int {
	t.Helper()
	if err := h.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range append([][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "shop.example.com"}, {":path", "/"}}, extra...) {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return -1
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			return -1
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v", f.ErrCode)
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range fields {
				if hf.Name == ":status" {
					code, _ := strconv.Atoi(hf.Value)
					return code
				}
			}
			t.Fatalf("HEADERS without :status: %v", fields)
		}
	}
}
