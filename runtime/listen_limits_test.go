package runtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMaxConnections(t *testing.T) {
	a := backend(t, "A")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}), "--max-connections", "1")
	first, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(first)
	io.WriteString(first, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first connection: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)

	// The first connection is still open: a second one is refused clearly.
	out, closed := raw(t, g.addr[80], "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	rs := responses(t, out)
	if !closed || len(rs) != 1 || rs[0].StatusCode != 503 {
		t.Fatalf("second connection: closed %v, %q", closed, out)
	}

	// Once the first closes its slot is free again (the server notices the
	// close asynchronously, so try a bounded number of times).
	first.Close()
	for i := range 50 {
		out, _ := raw(t, g.addr[80], "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if strings.HasPrefix(out, "HTTP/1.1 200") {
			break
		}
		if i == 49 {
			t.Fatalf("slot not freed: %q", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(g.logs.String(), "connection limit reached") {
		t.Error("no warning logged")
	}
}

func TestHeaderReadTimeout(t *testing.T) {
	log := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", "127.0.0.1:1")}), "--request-headers-timeout", "100ms", "--access-log", log)
	// Headers that never finish: the server answers 408, as Envoy's
	// request_headers_timeout, and closes; the refusal is logged.
	c, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: 1\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 408 ") {
		t.Fatalf("unfinished headers: %q (%v), want 408 and close", out, err)
	}
	waitForFile(t, log, `" 408 - request_header_timeout `)
}

func TestMaxHeaderBytes(t *testing.T) {
	g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", "127.0.0.1:1")}), "--max-header-bytes", "2048")
	out, _ := raw(t, g.addr[80], "GET / HTTP/1.1\r\nHost: h\r\nX-Big: "+strings.Repeat("x", 8<<10)+"\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 431") {
		t.Fatalf("oversized headers: %q", out)
	}
}
