package runtime

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// forwardConfig routes every path of a.example.com to backend.
func forwardConfig(t *testing.T, backend string) *Config {
	cfg := &Config{
		Listeners: []Listener{{
			Port:     80,
			Protocol: "HTTP",
			Hosts:    hosts(t, map[string]int32{"a.example.com": 0}, nil, -1),
			VirtualHosts: []VirtualHost{{Domain: "a.example.com", Routes: []Route{
				{ID: "all", Matches: []Match{{Path: prefix("/")}}, Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}},
			}}},
		}},
		Clusters: []Cluster{staticCluster("a", backend)},
	}
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGatewayForwardKeepAlive checks that sequential requests through the
// gateway share one upstream connection and carry the gateway's headers.
func TestGatewayForwardKeepAlive(t *testing.T) {
	srv, cc := forwardServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-Proto") != "http" || r.Header.Get("X-Request-Id") == "" || r.UserAgent() != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	g := startGateway(t, forwardConfig(t, hostPort(srv)))
	c := client()
	for _, m := range []string{"GET", "HEAD", "DELETE", "GET"} {
		resp, body := g.do(t, c, 80, m, "a.example.com", "/p", http.Header{"User-Agent": {""}})
		want := m + " /p"
		if m == "HEAD" {
			want = ""
		}
		if resp.StatusCode != 200 || body != want {
			t.Errorf("%s: %d %q, want 200 %q", m, resp.StatusCode, body, want)
		}
	}
	if n := cc.n.Load(); n != 1 {
		t.Errorf("4 sequential requests used %d upstream connections, want 1", n)
	}
}

// TestGatewayForwardClientGone checks that a client that goes away while
// the upstream has not answered aborts the upstream request: the upstream
// sees its connection closed.
func TestGatewayForwardClientGone(t *testing.T) {
	closed := make(chan struct{})
	addr, _ := rawServer(t, func(c net.Conn) {
		if _, err := readRequestHead(bufio.NewReader(c)); err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			close(closed)
		}
	})
	g := startGateway(t, forwardConfig(t, addr))
	conn, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the request reaches the upstream
	conn.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection stayed open after the client left")
	}
}
