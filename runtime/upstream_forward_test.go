package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts the connections a test server accepted.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.n.Add(1)
	}
}

// forwardServer starts a loopback HTTP server counting its connections.
func forwardServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.track
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

// rawServer answers every connection with serve, on a loopback listener,
// and counts the connections.
func rawServer(t *testing.T, serve func(c net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), &n
}

// readRequestHead reads one request head from br.
func readRequestHead(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return req, err
}

func newTestForwarder(t *testing.T) *forwarder {
	f := newForwarder(newTransport())
	t.Cleanup(f.CloseIdleConnections)
	return f
}

// fetch sends a bodiless request through rt and returns the response and
// its whole body.
func fetch(t *testing.T, rt http.RoundTripper, method, url string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func mustFetch(t *testing.T, rt http.RoundTripper, method, url string) (*http.Response, string) {
	t.Helper()
	resp, body, err := fetch(t, rt, method, url)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, body
}

func (f *forwarder) idleCount(addr string) int {
	p := f.pool(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func TestForwardKeepAlive(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") != "" {
			io.WriteString(w, "chunk-one ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "chunk-two "+r.URL.Path)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(r.URL.Path)))
		io.WriteString(w, r.URL.Path)
	})
	f := newTestForwarder(t)
	for i := range 20 {
		path := fmt.Sprintf("/r%d", i)
		url := srv.URL + path
		want := path
		if i%2 == 1 {
			url += "?chunked=1"
			want = "chunk-one chunk-two " + path
		}
		resp, body := mustFetch(t, f, "GET", url)
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, want)
		}
		if i%2 == 1 && resp.ContentLength != -1 {
			t.Fatalf("request %d: not chunked (length %d)", i, resp.ContentLength)
		}
	}
	if n := cc.n.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1", n)
	}
	if n := f.idleCount(srv.Listener.Addr().String()); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

func TestForwardBodilessResponses(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(http.StatusNotModified)
		case "/empty":
			w.Header().Set("Content-Length", "0")
		default:
			w.Header().Set("Content-Length", "5")
			if r.Method != "HEAD" {
				io.WriteString(w, "hello")
			}
		}
	})
	f := newTestForwarder(t)
	for _, tc := range []struct {
		method, path string
		code         int
		length       int64
	}{
		{"HEAD", "/", 200, 5},
		{"GET", "/204", 204, 0},
		{"GET", "/304", 304, 0},
		{"GET", "/empty", 200, 0},
		{"GET", "/", 200, 5},
		{"HEAD", "/", 200, 5},
	} {
		resp, body := mustFetch(t, f, tc.method, srv.URL+tc.path)
		if resp.StatusCode != tc.code || resp.ContentLength != tc.length || (tc.method == "HEAD" && body != "") {
			t.Errorf("%s %s: %d length %d body %q, want %d length %d", tc.method, tc.path, resp.StatusCode, resp.ContentLength, body, tc.code, tc.length)
		}
	}
	if n := cc.n.Load(); n != 1 {
		t.Errorf("requests without response bodies used %d connections, want 1", n)
	}
}

func TestForwardUpstreamConnectionClose(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	f := newTestForwarder(t)
	for range 3 {
		if _, body := mustFetch(t, f, "GET", srv.URL+"/"); body != "bye" {
			t.Fatalf("body %q", body)
		}
	}
	if n := cc.n.Load(); n != 3 {
		t.Errorf("3 requests answered with Connection: close used %d connections, want 3", n)
	}
	if n := f.idleCount(srv.Listener.Addr().String()); n != 0 {
		t.Errorf("%d idle connections kept after Connection: close, want 0", n)
	}
}

// oneShotServer answers one request per connection, keeping it alive in
// its response, then closes the connection, as an upstream whose idle
// timeout passed. closed receives after each close.
func oneShotServer(t *testing.T) (string, *atomic.Int64, chan struct{}) {
	closed := make(chan struct{}, 16)
	addr, n := rawServer(t, func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(5 * time.Millisecond) // let the client read it first
		c.Close()
		closed <- struct{}{}
	})
	return addr, n, closed
}

func TestForwardUpstreamClosedIdle(t *testing.T) {
	for _, method := range []string{"GET", "POST", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			addr, n, closed := oneShotServer(t)
			f := newTestForwarder(t)
			for i := range 3 {
				resp, body := mustFetch(t, f, method, "http://"+addr+"/")
				if resp.StatusCode != 200 || body != "ok" {
					t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
				}
				<-closed
			}
			if got := n.Load(); got != 3 {
				t.Errorf("%d connections, want 3", got)
			}
		})
	}
}

// TestForwardStaleRetry covers a closed idle connection the peek cannot
// see: the upstream resets it only once the next request arrives. A GET is
// sent again on a fresh connection; a POST is not (it may have been
// processed), and fails as an upstream connection termination.
func TestForwardStaleRetry(t *testing.T) {
	var conns atomic.Int64
	addr, _ := rawServer(t, func(c net.Conn) {
		first := conns.Add(1) == 1
		br := bufio.NewReader(c)
		if _, err := readRequestHead(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		if !first {
			return
		}
		// Read the second request on the first connection, then drop it
		// without answering.
		readRequestHead(br)
		c.(*net.TCPConn).SetLinger(0)
	})
	for _, tc := range []struct {
		method string
		ok     bool
	}{{"GET", true}, {"POST", false}} {
		conns.Store(0)
		f := newTestForwarder(t)
		mustFetch(t, f, tc.method, "http://"+addr+"/")
		_, body, err := fetch(t, f, tc.method, "http://"+addr+"/")
		if tc.ok && (err != nil || body != "ok") {
			t.Errorf("%s on a dropped connection: %q, %v; want a retry that succeeds", tc.method, body, err)
		}
		if !tc.ok {
			var ce *connectError
			if err == nil || errors.As(err, &ce) {
				t.Errorf("%s on a dropped connection: err %v, want a connection termination", tc.method, err)
			}
		}
	}
}

func TestForwardPartialBodyReset(t *testing.T) {
	var conns atomic.Int64
	addr, _ := rawServer(t, func(c net.Conn) {
		first := conns.Add(1) == 1
		br := bufio.NewReader(c)
		for {
			if _, err := readRequestHead(br); err != nil {
				return
			}
			if first {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
				time.Sleep(5 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0)
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	f := newTestForwarder(t)
	_, body, err := fetch(t, f, "GET", "http://"+addr+"/")
	if err == nil {
		t.Fatalf("a body cut short read as %q without an error", body)
	}
	if f.idleCount(addr) != 0 {
		t.Error("a connection whose response was cut short went back to the pool")
	}
	if _, body := mustFetch(t, f, "GET", "http://"+addr+"/"); body != "ok" {
		t.Errorf("next request: %q", body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the broken one not reused)", n)
	}
}

// TestForwardMalformedResponses sends the same bytes to http.Transport and
// to the forwarder: both must accept or reject them alike.
func TestForwardMalformedResponses(t *testing.T) {
	big := strings.Repeat("a", 8<<10)
	cases := map[string]string{
		"content-length and chunked": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"two content-lengths":        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
		"bad content-length":         "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
		"bad chunk size":             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
		"chunk too long":             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n",
		"unknown transfer-encoding":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
		"oversized header":           "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 2\r\n\r\nok",
		"bad status line":            "HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
		"bad header line":            "HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 2\r\n\r\nok",
		"space before colon":         "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
		"too many 1xx headers":       strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: "+big[:1024]+"\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"well formed":                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			addr, _ := rawServer(t, func(c net.Conn) {
				if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, raw)
			})
			tr := newTransport()
			tr.MaxResponseHeaderBytes = 4 << 10
			f := newForwarder(newTransport())
			f.maxHeader = 4 << 10
			defer tr.CloseIdleConnections()
			defer f.CloseIdleConnections()
			want := outcome(t, tr, addr)
			got := outcome(t, f, addr)
			if got != want {
				t.Errorf("forwarder: %s\nhttp.Transport: %s", got, want)
			}
		})
	}
}

// outcome is what a client of rt sees for one GET: the error or the status
// and body, with addresses and the sender's wording left out.
func outcome(t *testing.T, rt http.RoundTripper, addr string) string {
	resp, body, err := fetch(t, rt, "GET", "http://"+addr+"/")
	if err != nil {
		// http.Transport wraps errors it sees after writing the request.
		msg := strings.TrimPrefix(err.Error(), "net/http: HTTP/1.x transport connection broken: ")
		if i := strings.LastIndex(msg, ": "); i >= 0 && !strings.Contains(msg, "exceeded") {
			msg = msg[i+2:]
		}
		return "error: " + msg
	}
	return fmt.Sprintf("%d %q", resp.StatusCode, body)
}

func TestForwardInformational(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	f := newTestForwarder(t)
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprint(code, " ", h.Get("Link")))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+addr+"/", nil)
	resp, err := f.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" || len(got) != 1 || got[0] != "103 </a.css>" {
		t.Errorf("got %d %q, 1xx %q", resp.StatusCode, b, got)
	}
}

func TestForwardCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr, _ := rawServer(t, func(c net.Conn) {
		req, err := readRequestHead(bufio.NewReader(c))
		if err != nil {
			return
		}
		if req.URL.Path == "/body" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome")
		}
		<-release
	})
	f := newTestForwarder(t)

	t.Run("waiting for the head", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/head", nil)
		_, err := f.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the context's deadline", err)
		}
	})
	t.Run("reading the body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/body", nil)
		resp, err := f.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 10)
		n, err := resp.Body.Read(buf)
		if err != nil || string(buf[:n]) != "some" {
			t.Fatalf("first read: %q %v", buf[:n], err)
		}
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err = io.ReadAll(resp.Body)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: %v, want context.Canceled", err)
		}
	})
	if n := f.idleCount(addr); n != 0 {
		t.Errorf("%d cancelled connections went back to the pool", n)
	}
}

func TestForwardConnectError(t *testing.T) {
	f := newTestForwarder(t)
	_, _, err := fetch(t, f, "GET", "http://"+deadAddr(t)+"/")
	var ce *connectError
	if !errors.As(err, &ce) {
		t.Errorf("err %v, want a connectError", err)
	}
}

func TestForwardIdleTimeout(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := newTransport()
	tr.IdleConnTimeout = 30 * time.Millisecond
	f := newForwarder(tr)
	defer f.CloseIdleConnections()
	addr := srv.Listener.Addr().String()
	mustFetch(t, f, "GET", srv.URL)
	for i := 0; f.idleCount(addr) != 0; i++ {
		if i == 100 {
			t.Fatal("the idle connection outlived its timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustFetch(t, f, "GET", srv.URL)
	if n := cc.n.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestForwardFallback checks that what the fast path does not handle still
// works through http.Transport: a request body, and an invalid header is
// refused as it refuses it.
func TestForwardFallback(t *testing.T) {
	srv, _ := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.Method, b)
	})
	f := newTestForwarder(t)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
	resp, err := f.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "POST payload" {
		t.Errorf("body %q", b)
	}

	for _, rt := range []http.RoundTripper{f, f.fallback} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header["X-Bad"] = []string{"a\r\nInjected: 1"}
		if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "invalid header field value") {
			t.Errorf("%T: err %v, want an invalid header value", rt, err)
		}
	}
}

func TestForwardConcurrent(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	})
	f := newTestForwarder(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				path := fmt.Sprintf("/g%d/%d", g, i)
				_, body, err := fetch(t, f, "GET", srv.URL+path)
				if err == nil && body != path {
					err = fmt.Errorf("body %q, want %q", body, path)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := cc.n.Load(); n > 8 {
		t.Errorf("8 concurrent clients opened %d connections", n)
	}
}

// TestForwardBodyAfterNoContent covers a broken upstream that sends a body
// after a 204: the bytes must not be read as the next response.
func TestForwardBodyAfterNoContent(t *testing.T) {
	stray := make(chan struct{}, 1)
	addr, n := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := readRequestHead(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/204" {
				io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
				time.Sleep(5 * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
				stray <- struct{}{}
				continue
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
		}
	})
	f := newTestForwarder(t)
	if resp, _ := mustFetch(t, f, "GET", "http://"+addr+"/204"); resp.StatusCode != 204 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	<-stray // on loopback, written means delivered
	if _, body := mustFetch(t, f, "GET", "http://"+addr+"/"); body != "fresh" {
		t.Errorf("next response %q, want fresh", body)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d connections, want 2 (the one with stray bytes dropped)", got)
	}
}

// TestForwardSameBytes checks that the forwarder frames requests exactly
// as http.Transport does: the upstream receives the same bytes.
func TestForwardSameBytes(t *testing.T) {
	heads := make(chan string, 1)
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			heads <- head.String()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	build := func(method, target string, edit func(*http.Request)) *http.Request {
		req, err := http.NewRequest(method, "http://"+addr+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		edit(req)
		return req
	}
	cases := map[string]func() *http.Request{
		"plain get": func() *http.Request { return build("GET", "/a?b=c", func(*http.Request) {}) },
		"proxied get": func() *http.Request {
			return build("GET", "/x", func(r *http.Request) {
				r.Host = "app.example.com"
				r.URL.Opaque = "/a/%2F/b"
				r.URL.RawQuery = "q=1&q=2"
				r.Header["User-Agent"] = []string{""} // ReverseProxy: send none
				r.Header["X-Forwarded-For"] = []string{"10.0.0.1,127.0.0.1"}
				r.Header["X-Multi"] = []string{"one", "two"}
				r.Header["Te"] = []string{"trailers"}
			})
		},
		"post without body": func() *http.Request { return build("POST", "/p", func(*http.Request) {}) },
		"delete":            func() *http.Request { return build("DELETE", "/d", func(*http.Request) {}) },
		"close":             func() *http.Request { return build("GET", "/c", func(r *http.Request) { r.Close = true }) },
		"invalid host": func() *http.Request {
			return build("GET", "/h", func(r *http.Request) { r.Host = "bad/host" })
		},
		"tab in a value": func() *http.Request {
			return build("OPTIONS", "/o", func(r *http.Request) { r.Header.Set("X-Ok", "a\tb") })
		},
	}
	tr := newTransport()
	defer tr.CloseIdleConnections()
	f := newTestForwarder(t)
	for name, req := range cases {
		var got [2]string
		for i, rt := range []http.RoundTripper{tr, f} {
			resp, err := rt.RoundTrip(req())
			if err != nil {
				t.Fatalf("%s: %T: %v", name, rt, err)
			}
			resp.Body.Close()
			got[i] = <-heads
		}
		if got[0] != got[1] {
			t.Errorf("%s:\nhttp.Transport sent %q\nforwarder sent    %q", name, got[0], got[1])
		}
	}
}
