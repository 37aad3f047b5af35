package runtime

import (
	"net"
	"testing"
)

// fakeListener is a listener that only has an address: take looks at
// nothing else.
type fakeListener struct {
	net.Listener
	addr net.Addr
}

func (f fakeListener) Addr() net.Addr { return f.addr }

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestInheritedTake(t *testing.T) {
	sock := func(name, addr, bound string) *inheritedSocket {
		return &inheritedSocket{name: name, addr: addr, ln: fakeListener{addr: tcpAddr(bound)}}
	}
	for _, c := range []struct {
		what  string
		socks []*inheritedSocket
		name  string
		port  int
		addr  string
		want  int // index in socks, -1 for none
	}{
		{"systemd name, any address", []*inheritedSocket{sock("web-80", "", "[::]:8080")}, "http-80", 80, ":80", 0},
		{"systemd name of another port", []*inheritedSocket{sock("http-81", "", "[::]:81")}, "http-80", 80, ":80", -1},
		{"status by name", []*inheritedSocket{sock("http-80", "", "[::]:80"), sock("status", "", "[::]:15021")}, "status", 0, ":15021", 1},
		{"handover: same name, same flag", []*inheritedSocket{sock("http-80", "127.0.0.1:0", "127.0.0.1:41000")}, "http-80", 80, "127.0.0.1:0", 0},
		{"handover: port 0 of another socket is never shared",
			[]*inheritedSocket{sock("status", "127.0.0.1:0", "127.0.0.1:41000")}, "http-81", 81, "127.0.0.1:0", -1},
		{"port renumbered onto the same address", []*inheritedSocket{sock("http-80", ":8080", "[::]:8080")}, "http-81", 81, ":8080", 0},
		{"protocol changed, same port", []*inheritedSocket{sock("http-443", ":443", "[::]:443")}, "https-443", 443, ":443", 0},
		{"unspecified addresses match", []*inheritedSocket{sock("unknown", "", "0.0.0.0:80")}, "http-80", 80, "[::]:80", 0},
		{"another interface", []*inheritedSocket{sock("unknown", "", "127.0.0.1:80")}, "http-80", 80, "10.0.0.1:80", -1},
		{"the address moved", []*inheritedSocket{sock("http-80", ":80", "[::]:80")}, "http-80", 80, ":8080", -1},
	} {
		in := &inherited{socks: c.socks}
		got := in.take(c.name, c.port, c.addr)
		want := net.Listener(nil)
		if c.want >= 0 {
			want = c.socks[c.want].ln
		}
		if got != want {
			t.Errorf("%s: took %v, want %v", c.what, got, want)
		}
	}
}
