package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/gwc-dev/gwc/internal/dnsmasq"
)

// clientFor returns a client asking srv only, with the search and ndots
// of the resolv.conf text given.
func clientFor(t *testing.T, srv netip.AddrPort, resolvConf, hosts string) *Client {
	t.Helper()
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(rc, []byte(resolvConf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := ReadConfig(rc)
	cfg.Servers = []netip.AddrPort{srv}
	cfg.Timeout = time.Second
	hostsPath := ""
	if hosts != "" {
		hostsPath = filepath.Join(dir, "hosts")
		if err := os.WriteFile(hostsPath, []byte(hosts), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return NewClient(cfg, hostsPath)
}

func addrs(list []netip.Addr) string { return fmt.Sprint(list) }

func TestLookupAgainstDnsmasq(t *testing.T) {
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
	}
	srv := dnsmasq.Start(t, 7, map[string][]string{
		"svc.test":      {"127.0.0.2", "127.0.0.3", "::2"},
		"v4only.test":   {"127.0.0.4"},
		"web.test":      {"127.0.0.5"},
		"web.test.test": {"127.0.0.6"},
		"short.test":    {"127.0.0.7"},
		"big.test":      many,
	})
	c := clientFor(t, srv.Addr, "nameserver 127.0.0.1\nsearch test\n", "127.0.0.9 pinned.test\n")

	got, ttl, err := c.Lookup(t.Context(), "svc.test")
	if err != nil || addrs(got) != "[127.0.0.2 127.0.0.3 ::2]" || ttl != 7*time.Second {
		t.Errorf("svc.test: %v, ttl %s, %v; want both A and the AAAA, ttl 7s", got, ttl, err)
	}
	if got, _, err := c.Lookup(t.Context(), "v4only.test."); err != nil || addrs(got) != "[127.0.0.4]" {
		t.Errorf("rooted v4only.test.: %v, %v; want the A record (no AAAA is not an error)", got, err)
	}
	// A single label is asked under the search domain, as Go's resolver asks it.
	if got, _, err := c.Lookup(t.Context(), "short"); err != nil || addrs(got) != "[127.0.0.7]" {
		t.Errorf("short with search test: %v, %v", got, err)
	}
	// An answer longer than UDP allows comes again over TCP.
	if got, _, err := c.Lookup(t.Context(), "big.test"); err != nil || len(got) != 100 {
		t.Errorf("big.test: %d addresses, %v; want 100 (a truncated UDP answer is asked again over TCP)", len(got), err)
	}
	if _, _, err := c.Lookup(t.Context(), "nothing.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("nothing.test: %v, want ErrNotFound (NXDOMAIN: the system resolver is asked)", err)
	}
	for _, name := range []string{"pinned.test", "localhost", "a.localhost"} {
		if _, _, err := c.Lookup(t.Context(), name); !errors.Is(err, ErrNotAsked) {
			t.Errorf("%s: %v, want ErrNotAsked (the hosts file answers it)", name, err)
		}
	}
	if n := srv.Queries("pinned.test"); n != 0 {
		t.Errorf("a name of the hosts file was asked %d times", n)
	}
}

// ndots decides whether a name with dots is tried as it is before the
// search domains, as in Go's resolver: web.test has one dot.
func TestLookupNdots(t *testing.T) {
	srv := dnsmasq.Start(t, 30, map[string][]string{
		"web.test":      {"127.0.0.5"},
		"web.test.test": {"127.0.0.6"},
	})
	for _, c := range []struct{ conf, want string }{
		{"search test\n", "[127.0.0.5]"},                      // ndots 1: as it is first
		{"search test\noptions ndots:2\n", "[127.0.0.6]"},     // under the search domain first
		{"domain test\noptions ndots:1\n", "[127.0.0.5]"},     // domain is a one-entry search
		{"search other.test\noptions ndots:5", "[127.0.0.5]"}, // web.test.other.test is NXDOMAIN: next name
	} {
		cl := clientFor(t, srv.Addr, c.conf, "")
		got, _, err := cl.Lookup(t.Context(), "web.test")
		if err != nil || addrs(got) != c.want {
			t.Errorf("resolv.conf %q: web.test is %v, %v; want %s", c.conf, got, err, c.want)
		}
	}
}

func TestReadConfig(t *testing.T) {
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte("# comment\nnameserver 10.0.0.10\nnameserver fd00::a\nnameserver bogus\n"+
		"search a.example b.example.\noptions ndots:30 timeout:0 attempts:3 rotate\n"), 0o644)
	c := ReadConfig(rc)
	if fmt.Sprint(c.Servers) != "[10.0.0.10:53 [fd00::a]:53]" || !slices.Equal(c.Search, []string{"a.example", "b.example"}) ||
		c.Ndots != 15 || c.Timeout != time.Second || c.Attempts != 3 {
		t.Errorf("config %+v", c)
	}
	c = ReadConfig(filepath.Join(t.TempDir(), "missing"))
	if fmt.Sprint(c.Servers) != "[127.0.0.1:53 [::1]:53]" || c.Ndots != 1 || c.Timeout != 5*time.Second || c.Attempts != 2 {
		t.Errorf("defaults %+v, want Go's", c)
	}
}

// scripted is a UDP server that answers each question with the messages
// reply builds: stray ones first, to check that only the one matching the
// query's ID and question is taken.
func scripted(t *testing.T, reply func(q dnsmessage.Message) [][]byte) netip.AddrPort {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q dnsmessage.Message
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range reply(q) {
				pc.WriteTo(m, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func pack(t *testing.T, m dnsmessage.Message) []byte {
	b, err := m.Pack()
	if err != nil {
		t.Error(err)
	}
	return b
}

func TestAnswerMatchedByIDAndQuestion(t *testing.T) {
	srv := scripted(t, func(q dnsmessage.Message) [][]byte {
		qq := q.Questions[0]
		a := func(ip string) dnsmessage.Resource {
			v := netip.MustParseAddr(ip).As4()
			return dnsmessage.Resource{Header: dnsmessage.ResourceHeader{Name: qq.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body: &dnsmessage.AResource{A: v}}
		}
		if qq.Type != dnsmessage.TypeA {
			return [][]byte{pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true}, Questions: q.Questions})}
		}
		other := qq
		other.Name = dnsmessage.MustNewName("evil.test.")
		return [][]byte{
			pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID + 1, Response: true}, Questions: q.Questions, Answers: []dnsmessage.Resource{a("10.6.6.6")}}),
			pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true}, Questions: []dnsmessage.Question{other}, Answers: []dnsmessage.Resource{a("10.6.6.7")}}),
			pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID}, Questions: q.Questions, Answers: []dnsmessage.Resource{a("10.6.6.8")}}),
			{1, 2, 3},
			pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true}, Questions: q.Questions, Answers: []dnsmessage.Resource{a("10.0.0.1")}}),
		}
	})
	c := NewClient(Config{Servers: []netip.AddrPort{srv}, Timeout: time.Second}, "")
	got, ttl, err := c.Lookup(t.Context(), "svc.test.")
	if err != nil || addrs(got) != "[10.0.0.1]" || ttl != time.Minute {
		t.Errorf("got %v, ttl %s, %v; want 10.0.0.1 from the one answer with the query's ID and question", got, ttl, err)
	}
}

// Records reached through CNAMEs count, with the smallest TTL of the
// chain; address records of other names in the answer do not.
func TestAnswerFollowsCNAMEs(t *testing.T) {
	srv := scripted(t, func(q dnsmessage.Message) [][]byte {
		qq := q.Questions[0]
		m := dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true}, Questions: q.Questions}
		if qq.Type == dnsmessage.TypeA {
			hdr := func(name string, typ dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
				return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET, TTL: ttl}
			}
			m.Answers = []dnsmessage.Resource{
				{Header: hdr("real.test.", dnsmessage.TypeA, 300), Body: &dnsmessage.AResource{A: [4]byte{10, 0, 0, 2}}},
				{Header: hdr("Alias.Test.", dnsmessage.TypeCNAME, 20), Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("mid.test.")}},
				{Header: hdr("mid.test.", dnsmessage.TypeCNAME, 600), Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName("real.test.")}},
				{Header: hdr("unrelated.test.", dnsmessage.TypeA, 1), Body: &dnsmessage.AResource{A: [4]byte{10, 6, 6, 6}}},
			}
		}
		return [][]byte{pack(t, m)}
	})
	c := NewClient(Config{Servers: []netip.AddrPort{srv}, Timeout: time.Second}, "")
	got, ttl, err := c.Lookup(t.Context(), "alias.test.")
	if err != nil || addrs(got) != "[10.0.0.2]" || ttl != 20*time.Second {
		t.Errorf("got %v, ttl %s, %v; want 10.0.0.2 through two CNAMEs, ttl 20s", got, ttl, err)
	}
}

func TestServerFailureIsNotNotFound(t *testing.T) {
	srv := scripted(t, func(q dnsmessage.Message) [][]byte {
		return [][]byte{pack(t, dnsmessage.Message{Header: dnsmessage.Header{ID: q.ID, Response: true, RCode: dnsmessage.RCodeServerFailure}, Questions: q.Questions})}
	})
	c := NewClient(Config{Servers: []netip.AddrPort{srv}, Timeout: time.Second}, "")
	_, _, err := c.Lookup(t.Context(), "svc.test.")
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotAsked) {
		t.Errorf("SERVFAIL: %v, want a failure the caller keeps its last answer through", err)
	}
}
