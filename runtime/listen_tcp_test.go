package runtime

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/testcerts"
	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// echoBackend answers each connection with what it read up to EOF,
// prefixed with its name, then closes: it only answers when the proxy
// passes the client's half-close on.
func echoBackend(t *testing.T, name string, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if cert != nil {
					// TLS has no half-close; answer the first line.
					b := make([]byte, 64)
					n, _ := c.Read(b)
					io.WriteString(c, name+": "+string(b[:n]))
					return
				}
				b, _ := io.ReadAll(c)
				io.WriteString(c, name+": "+string(b))
			}()
		}
	}()
	return ln.Addr().String()
}

func l4Config(protocol string, routes []L4Route, addrs ...string) *Config {
	cfg := &Config{Listeners: []Listener{{Port: 31400, Protocol: protocol, L4: routes, Hosts: hosttable.Router{CatchAll: -1}}}}
	for _, a := range addrs {
		cfg.Clusters = append(cfg.Clusters, Cluster{Name: "outbound|" + a, Endpoints: []Endpoint{{Address: a}}})
	}
	return cfg
}

func TestTCPProxyHalfClose(t *testing.T) {
	old := tcpIdleTimeout
	tcpIdleTimeout = 300 * time.Millisecond
	t.Cleanup(func() { tcpIdleTimeout = old })
	cfg := l4Config("TCP", []L4Route{{ID: "vs.yaml:5:5 edge/echo tcp[0]", Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}}},
		echoBackend(t, "echo", nil))
	g := startGateway(t, cfg)
	addr := g.addr[31400]
	goroutines, fds := settle(t, -1, -1)
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hello")
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(c)
		c.Close()
		if string(out) != "echo: hello" {
			t.Errorf("connection %d: got %q (%v), want the echo after the half-close", i, out, err)
		}
	}
	// A client that never sends is closed after the idle timeout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("idle client: %v, want the connection closed", err)
	}
	c.Close()
	settle(t, goroutines, fds)
}

func TestTLSPassthrough(t *testing.T) {
	ca := testcerts.NewCA(t, "upstream CA")
	a, b := ca.Server(t, "a.example.com").TLS(t), ca.Server(t, "*.b.example.com").TLS(t)
	cfg := l4Config("TLS", []L4Route{
		{ID: "vs.yaml:5:5 edge/sni tls[0].match[0]", SNI: []string{"a.example.com"}, Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}},
		{ID: "vs.yaml:9:5 edge/sni tls[1].match[0]", SNI: []string{"*.b.example.com"}, Clusters: []WeightedCluster{{Cluster: 1, Weight: 100}}},
	}, echoBackend(t, "a", &a), echoBackend(t, "b", &b))
	old := handshakeTimeout
	handshakeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { handshakeTimeout = old })
	g := startGateway(t, cfg)
	addr := g.addr[31400]
	goroutines, fds := settle(t, -1, -1)
	for _, tc := range []struct{ sni, want string }{{"a.example.com", "a: ping"}, {"x.b.example.com", "b: ping"}, {"X.B.Example.com", "b: ping"}} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: tc.sni, RootCAs: ca.Pool()})
		if err != nil {
			t.Errorf("SNI %s: %v", tc.sni, err)
			continue
		}
		io.WriteString(c, "ping")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, _ := io.ReadAll(c)
		c.Close()
		if string(out) != tc.want {
			t.Errorf("SNI %s: got %q, want %q", tc.sni, out, tc.want)
		}
	}
	for _, sni := range []string{"c.example.com", "b.example.com", ""} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err == nil {
			c.Close()
			t.Errorf("SNI %q: handshake succeeded, want the connection closed", sni)
		}
	}
	for _, p := range []string{"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03", ""} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, p)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(c)
		c.Close()
		if err != nil || strings.Contains(string(out), "HTTP/") {
			t.Errorf("payload %q: got %q (%v), want the connection closed", p, out, err)
		}
	}
	settle(t, goroutines, fds)
}

// TestTerminateAndPassthrough serves one port with a terminating server for
// a.example.com, a passthrough route for *.b.example.com, and a server for
// t.example.com that terminates TLS for a tcp route.
func TestTerminateAndPassthrough(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	b := ca.Server(t, "*.b.example.com").TLS(t)
	dir := t.TempDir()
	testcerts.WriteCredential(t, dir, "a", ca.Server(t, "a.example.com"), nil)
	cfg := tlsConfig(t, hostPort(backend(t, "a")))
	cfg.Clusters = append(cfg.Clusters, Cluster{Name: "outbound|b", Endpoints: []Endpoint{{Address: echoBackend(t, "b", &b)}}})
	cfg.Listeners[0].L4 = []L4Route{{ID: "vs.yaml:9:5 edge/sni tls[0].match[0]", SNI: []string{"*.b.example.com"}, Clusters: []WeightedCluster{{Cluster: 1, Weight: 100}}}}
	// A TLS server terminating for a tcp rule.
	testcerts.WriteCredential(t, dir, "t", ca.Server(t, "t.example.com"), nil)
	cfg.Clusters = append(cfg.Clusters, Cluster{Name: "outbound|t", Endpoints: []Endpoint{{Address: echoBackend(t, "t", nil)}}})
	cfg.Listeners[0].TLS = append(cfg.Listeners[0].TLS, ServerTLS{ID: "gw.yaml:9:5 edge/gw servers[1]", SNI: []string{"t.example.com"}, Mode: TLSSimple, CredentialName: "t",
		TCP: &L4Route{ID: "vs.yaml:20:5 edge/t tcp[0]", Clusters: []WeightedCluster{{Cluster: 2, Weight: 100}}}})
	g := startGateway(t, cfg, "--credentials-dir", dir)
	addr := g.addr[443]

	tt, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "t.example.com", RootCAs: ca.Pool()})
	if err != nil {
		t.Fatalf("terminated TCP: %v", err)
	}
	io.WriteString(tt, "hi")
	tt.CloseWrite()
	tt.SetReadDeadline(time.Now().Add(5 * time.Second))
	if out, err := io.ReadAll(tt); string(out) != "t: hi" {
		t.Errorf("terminated TCP: got %q (%v), want the echo after close_notify", out, err)
	}
	tt.Close()

	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "a.example.com"}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/t", nil)
	req.Host = "a.example.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if s := seenBy(t, string(body)); s.Backend != "a" || s.RequestURI != "/t" {
		t.Errorf("terminated: %+v", s)
	}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "x.b.example.com", RootCAs: ca.Pool()})
	if err != nil {
		t.Fatalf("passthrough: %v", err)
	}
	io.WriteString(tc, "ping")
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(tc)
	tc.Close()
	if string(out) != "b: ping" {
		t.Errorf("passthrough: got %q", out)
	}
	if tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: "c.example.com", InsecureSkipVerify: true}); err == nil {
		tc.Close()
		t.Error("an unknown name got a handshake")
	}
}
