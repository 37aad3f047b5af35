package runtime

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDNS is a DNS server on 127.0.0.1 answering A and AAAA questions from
// a table. Tests never ask any other server.
type fakeDNS struct {
	addr string
	mu   sync.Mutex
	a    map[string][]netip.Addr // by name without the final dot
	ttl  uint32
	fail bool // answer SERVFAIL
	asks int
}

func newFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{addr: pc.LocalAddr().String(), a: map[string][]netip.Addr{}}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := f.answer(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return f
}

func (f *fakeDNS) set(name string, ttl uint32, ips ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.a[name], f.ttl = nil, ttl
	for _, ip := range ips {
		f.a[name] = append(f.a[name], netip.MustParseAddr(ip))
	}
}

func (f *fakeDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	var labels []string
	off := 12
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if off+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	if off+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off+1:])
	question := q[12 : off+5]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asks++
	resp := append([]byte{}, q[:2]...)
	flags := uint16(0x8180)
	if f.fail {
		flags |= 2
	}
	var ips []netip.Addr
	if !f.fail {
		for _, ip := range f.a[strings.Join(labels, ".")] {
			if ip.Is4() == (qtype == dnsTypeA) {
				ips = append(ips, ip)
			}
		}
	}
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(ips)))
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, question...)
	for _, ip := range ips {
		resp = append(resp, 0xc0, 12) // the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1)
		resp = binary.BigEndian.AppendUint32(resp, f.ttl)
		raw := ip.AsSlice()
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(raw)))
		resp = append(resp, raw...)
	}
	return resp
}

// ttlEndpoints resolves through the fake server only.
func ttlEndpoints(t *testing.T, f *fakeDNS, stop chan struct{}, hosts ...string) *dnsEndpoints {
	var eps []Endpoint
	for _, h := range hosts {
		eps = append(eps, Endpoint{Address: h + ":8080"})
	}
	d := newDNSEndpoints(eps, stop)
	r := &ttlResolver{servers: []string{f.addr}, timeout: time.Second, hosts: map[string]bool{}}
	d.ttlLookup = r.lookup
	d.lookup = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		t.Errorf("the TTL-less resolver was asked for %s", host)
		return nil, errNoTTL
	}
	return d
}

func TestDNSRefreshFollowsTTL(t *testing.T) {
	f := newFakeDNS(t)
	stop := make(chan struct{})
	defer close(stop)
	d := ttlEndpoints(t, f, stop, "svc.test", "other.test")
	d.minRefresh, d.maxRefresh, d.failRefresh = 2*time.Second, 90*time.Second, 3*time.Second
	f.set("svc.test", 30, "10.0.0.1", "10.0.0.2", "2001:db8::1")
	f.set("other.test", 30, "10.0.0.3")
	if next := d.refresh(); next != 30*time.Second {
		t.Errorf("TTL 30s: next refresh in %s, want 30s", next)
	}
	if got := strings.Join(d.set.Load().addrs, " "); got != "10.0.0.1:8080 10.0.0.2:8080 [2001:db8::1]:8080 10.0.0.3:8080" {
		t.Errorf("endpoints %s, want every A and AAAA answer", got)
	}
	f.set("other.test", 7, "10.0.0.4")
	if next := d.refresh(); next != 7*time.Second {
		t.Errorf("smallest TTL 7s: next refresh in %s", next)
	}
	f.set("other.test", 0, "10.0.0.4")
	if next := d.refresh(); next != 2*time.Second {
		t.Errorf("TTL 0: next refresh in %s, want the 2s floor", next)
	}
	f.set("other.test", 86400, "10.0.0.4")
	f.set("svc.test", 86400, "10.0.0.1")
	if next := d.refresh(); next != 90*time.Second {
		t.Errorf("TTL 1 day: next refresh in %s, want the 90s ceiling", next)
	}
	f.mu.Lock()
	f.fail = true
	f.mu.Unlock()
	if next := d.refresh(); next != 3*time.Second {
		t.Errorf("after a failure: next refresh in %s, want 3s", next)
	}
	if got := strings.Join(d.set.Load().addrs, " "); got != "10.0.0.1:8080 10.0.0.4:8080" {
		t.Errorf("after a failure: endpoints %s, want the last good answer", got)
	}
}

func TestDNSRefreshLoopPicksUpChanges(t *testing.T) {
	f := newFakeDNS(t)
	stop := make(chan struct{})
	defer close(stop)
	d := ttlEndpoints(t, f, stop, "svc.test")
	d.minRefresh = 20 * time.Millisecond
	f.set("svc.test", 0, "10.0.0.1")
	if s := d.get(t.Context()); len(s.addrs) != 1 || s.addrs[0] != "10.0.0.1:8080" {
		t.Fatalf("first answer %v", s.addrs)
	}
	f.set("svc.test", 0, "10.0.0.9", "10.0.0.8")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := d.set.Load(); len(s.addrs) == 2 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("endpoints %v never followed the new answer", d.set.Load().addrs)
}

func TestTTLResolverLeavesLocalNames(t *testing.T) {
	r := &ttlResolver{servers: []string{"127.0.0.1:1"}, hosts: map[string]bool{"db.internal": true}}
	for _, name := range []string{"localhost", "db.internal", "shortname", "a.localhost"} {
		if _, _, err := r.lookup(t.Context(), name); err != errNoTTL {
			t.Errorf("%s: %v, want errNoTTL (the Go resolver answers it)", name, err)
		}
	}
}

func TestParseDNSAnswerRejectsGarbage(t *testing.T) {
	for _, m := range [][]byte{nil, {1, 2, 3}, append(make([]byte, 2), 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0)} {
		if _, _, err := parseDNSAnswer(m, dnsTypeA); err == nil {
			t.Errorf("%x: no error", m)
		}
	}
}
