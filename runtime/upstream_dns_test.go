package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/dnsmasq"
)

// answers is a TTL lookup from a table, for the refresh arithmetic alone.
type answers struct {
	mu   sync.Mutex
	ttl  map[string]time.Duration
	ips  map[string][]netip.Addr
	fail bool
}

func (a *answers) set(name string, ttl time.Duration, ips ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ttl[name], a.ips[name] = ttl, addrs(ips...)
}

func (a *answers) lookup(_ context.Context, host string) ([]netip.Addr, time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return nil, 0, errors.New("SERVFAIL")
	}
	return a.ips[host], a.ttl[host], nil
}

func TestDNSRefreshFollowsTTL(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	a := &answers{ttl: map[string]time.Duration{}, ips: map[string][]netip.Addr{}}
	d := newDNSEndpoints([]Endpoint{{Address: "svc.test:8080"}, {Address: "other.test:8080"}}, stop, &resolver{ttl: a.lookup})
	d.lookup = func(_ context.Context, _, host string) ([]netip.Addr, error) {
		t.Errorf("the TTL-less resolver was asked for %s", host)
		return nil, errors.New("no")
	}
	d.minRefresh, d.maxRefresh, d.failRefresh = 2*time.Second, 90*time.Second, 3*time.Second
	a.set("svc.test", 30*time.Second, "10.0.0.1", "10.0.0.2", "2001:db8::1")
	a.set("other.test", 30*time.Second, "10.0.0.3")
	if next := d.refresh(); next != 30*time.Second {
		t.Errorf("TTL 30s: next refresh in %s, want 30s", next)
	}
	if got := strings.Join(d.set.Load().addrs, " "); got != "10.0.0.1:8080 10.0.0.2:8080 [2001:db8::1]:8080 10.0.0.3:8080" {
		t.Errorf("endpoints %s, want every A and AAAA answer", got)
	}
	a.set("other.test", 7*time.Second, "10.0.0.4")
	if next := d.refresh(); next != 7*time.Second {
		t.Errorf("smallest TTL 7s: next refresh in %s", next)
	}
	a.set("other.test", 0, "10.0.0.4")
	if next := d.refresh(); next != 2*time.Second {
		t.Errorf("TTL 0: next refresh in %s, want the 2s floor", next)
	}
	a.set("other.test", 24*time.Hour, "10.0.0.4")
	a.set("svc.test", 24*time.Hour, "10.0.0.1")
	if next := d.refresh(); next != 90*time.Second {
		t.Errorf("TTL 1 day: next refresh in %s, want the 90s ceiling", next)
	}
	a.mu.Lock()
	a.fail = true
	a.mu.Unlock()
	if next := d.refresh(); next != 3*time.Second {
		t.Errorf("after a failure: next refresh in %s, want 3s", next)
	}
	if got := strings.Join(d.set.Load().addrs, " "); got != "10.0.0.1:8080 10.0.0.4:8080" {
		t.Errorf("after a failure: endpoints %s, want the last good answer", got)
	}
}

func TestDNSRefreshLoopPicksUpChanges(t *testing.T) {
	srv := dnsmasq.Start(t, 0, map[string][]string{"svc.test": {"10.0.0.1"}})
	stop := make(chan struct{})
	defer close(stop)
	d := newDNSEndpoints([]Endpoint{{Address: "svc.test:8080"}}, stop, newResolver([]netip.AddrPort{srv.Addr}))
	d.minRefresh = 20 * time.Millisecond
	var gone []string
	var mu sync.Mutex
	d.gone = func(a []string) {
		mu.Lock()
		defer mu.Unlock()
		gone = append(gone, a...)
	}
	if s := d.get(t.Context()); len(s.addrs) != 1 || s.addrs[0] != "10.0.0.1:8080" {
		t.Fatalf("first answer %v", s.addrs)
	}
	srv.Set(t, map[string][]string{"svc.test": {"10.0.0.9", "10.0.0.8"}})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := d.set.Load(); len(s.addrs) == 2 {
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(gone) != "[10.0.0.1:8080]" {
				t.Errorf("addresses reported gone: %v, want the one dropped", gone)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("endpoints %v never followed the new answer", d.set.Load().addrs)
}

// A name no DNS server knows (NXDOMAIN) is asked of the Go resolver, here
// pointed at a second server that knows it.
func TestDNSNotFoundFallsBackToGoResolver(t *testing.T) {
	dnsSrv := dnsmasq.Start(t, 300, map[string][]string{"svc.test": {"10.0.0.1"}})
	other := dnsmasq.Start(t, 300, map[string][]string{"elsewhere.test": {"10.0.0.7"}})
	stop := make(chan struct{})
	defer close(stop)
	r := newResolver([]netip.AddrPort{dnsSrv.Addr})
	goResolver := newResolver([]netip.AddrPort{other.Addr})
	var fallbacks atomic.Int32
	r.lookup = func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		fallbacks.Add(1)
		return goResolver.lookup(ctx, network, host)
	}
	d := newDNSEndpoints([]Endpoint{{Address: "elsewhere.test:80"}, {Address: "svc.test:80"}}, stop, r)
	next := d.refresh()
	if got := strings.Join(d.set.Load().addrs, " "); got != "10.0.0.7:80 10.0.0.1:80" {
		t.Errorf("endpoints %q, want elsewhere.test from the Go resolver and svc.test from DNS", got)
	}
	if fallbacks.Load() != 1 || dnsSrv.Queries("elsewhere.test") == 0 {
		t.Errorf("%d fallbacks, %d DNS queries for elsewhere.test; want DNS asked first, then one fallback", fallbacks.Load(), dnsSrv.Queries("elsewhere.test"))
	}
	if next != dnsRefresh {
		t.Errorf("next refresh in %s, want %s: an answer without TTL", next, dnsRefresh)
	}
}

// loopbackPair listens on 127.0.0.2 and 127.0.0.3 at one port, as two
// endpoints of one DNS name and service port.
func loopbackPair(t *testing.T) (a, b net.Listener, port string) {
	t.Helper()
	for range 20 {
		la, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatalf("listening on 127.0.0.2 (Linux routes all of 127/8 to lo): %v", err)
		}
		_, port, _ = net.SplitHostPort(la.Addr().String())
		lb, err := net.Listen("tcp", "127.0.0.3:"+port)
		if err == nil {
			return la, lb, port
		}
		la.Close()
	}
	t.Fatal("no port free on both 127.0.0.2 and 127.0.0.3")
	return nil, nil, ""
}

// connWatch counts a backend's open connections.
type connWatch struct{ open atomic.Int32 }

func (w *connWatch) state(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		w.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		w.open.Add(-1)
	}
}

func namedBackend(t *testing.T, ln net.Listener, name string) *connWatch {
	w := &connWatch{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{
		Handler:   http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprint(rw, name) }),
		ConnState: w.state,
	}}
	srv.Start()
	t.Cleanup(srv.Close)
	return w
}

// TestDNSRecordChangeMovesTraffic drives the gateway against a real DNS
// server: when the record changes, traffic follows within the record's TTL
// (plus the refresh floor), and the keep-alive connections to the address
// that left are closed, not kept for the hour-long idle timeout.
//
// Clusters without a connection policy go through the forwarder, which
// frees the pools of the addresses that left; a connectionPool gives the
// cluster an http.Transport of its own, which closes its idle connections.
func TestDNSRecordChangeMovesTraffic(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy *ClusterPolicy
	}{
		{"forwarder", nil},
		{"own transport", &ClusterPolicy{Pool: ConnectionPool{IdleTimeout: time.Hour}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testDNSRecordChange(t, c.policy)
		})
	}
}

func testDNSRecordChange(t *testing.T, policy *ClusterPolicy) {
	la, lb, port := loopbackPair(t)
	oldConns := namedBackend(t, la, "old")
	namedBackend(t, lb, "new")
	srv := dnsmasq.Start(t, 1, map[string][]string{"svc.test": {"127.0.0.2"}})
	cfg := oneRoute(t, []Cluster{{Name: "outbound|80||svc.test", Resolve: true, Endpoints: []Endpoint{{Address: "svc.test:" + port}},
		Policy: policy}})
	g := startGateway(t, cfg, "--dns-server", srv.Addr.String())
	c := client()
	for i := range 3 {
		if resp, body := g.do(t, c, 80, "GET", "h", "/", nil); resp.StatusCode != 200 || body != "old" {
			t.Fatalf("request %d: %d %q, want the old backend", i, resp.StatusCode, body)
		}
	}
	if oldConns.open.Load() == 0 {
		t.Fatal("no keep-alive connection to the old backend")
	}
	srv.Set(t, map[string][]string{"svc.test": {"127.0.0.3"}})
	changed := time.Now()
	deadline := changed.Add(dnsMinRefresh + 10*time.Second)
	for {
		resp, body := g.do(t, c, 80, "GET", "h", "/", nil)
		if resp.StatusCode == 200 && body == "new" {
			break
		}
		if resp.StatusCode != 200 || body != "old" {
			t.Fatalf("during the change: %d %q", resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("traffic still goes to the old address %s after the record changed (TTL 1s)", time.Since(changed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("traffic moved %s after the record changed", time.Since(changed).Round(100*time.Millisecond))
	for range 50 {
		if oldConns.open.Load() == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%d connections to the address DNS dropped are still open", oldConns.open.Load())
}
