package runtime

import (
	"bytes"
	"net"
	"testing"
)

// rawBackend answers every request on a kept connection with a fixed
// response, allocating nothing per request, so that allocation counts
// taken around a proxied request are the gateway's own.
func rawBackend(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						n = copy(buf, buf[i+4:n])
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// rawClient sends one fixed request on a kept connection and reads its
// fixed-size response, allocating nothing.
type rawClient struct {
	c   net.Conn
	req []byte
	buf []byte
}

func (rc *rawClient) do(t testing.TB) {
	if _, err := rc.c.Write(rc.req); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		m, err := rc.c.Read(rc.buf[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
		if i := bytes.Index(rc.buf[:n], []byte("\r\n\r\n")); i >= 0 && n >= i+4+2 {
			break
		}
	}
	if !bytes.HasPrefix(rc.buf, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("response %q", rc.buf[:n])
	}
}

// TestBodilessGETAllocations holds the hot path to its budget: a bodiless
// GET through the HTTP/1.1 engine, route selection, the lean proxy path
// and the forwarder, with metrics on, allocates at most 5 times.
func TestBodilessGETAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	g := startGateway(t, benchConfig(t, rawBackend(t)))
	c, err := net.Dial("tcp", g.addr[80])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := &rawClient{c: c, buf: make([]byte, 4096),
		req: []byte("GET /api/users/42 HTTP/1.1\r\nHost: a.example.com\r\nUser-Agent: alloc-test\r\nAccept: */*\r\n\r\n")}
	for range 50 {
		rc.do(t) // warm pools and the route
	}
	const budget = 5
	if n := testing.AllocsPerRun(2000, func() { rc.do(t) }); n > budget {
		t.Errorf("%.1f allocations per bodiless GET, budget %d", n, budget)
	}
}
