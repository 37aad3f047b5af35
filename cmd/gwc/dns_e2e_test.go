package main

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/dnsmasq"
)

// TestDNSRecordChangeEndToEnd runs a binary whose ServiceEntry resolves
// through a real DNS server: when the record changes, traffic moves to the
// new address within the TTL plus the 5 s refresh floor.
func TestDNSRecordChangeEndToEnd(t *testing.T) {
	var a, b net.Listener
	var port int
	for range 20 {
		la, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatalf("listening on 127.0.0.2: %v", err)
		}
		port = la.Addr().(*net.TCPAddr).Port
		if lb, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", port)); err == nil {
			a, b = la, lb
			break
		}
		la.Close()
	}
	if a == nil {
		t.Fatal("no port free on both 127.0.0.2 and 127.0.0.3")
	}
	for name, ln := range map[string]net.Listener{"old": a, "new": b} {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	dns := dnsmasq.Start(t, 1, map[string][]string{"web.test": {"127.0.0.2"}})
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml": fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints: [{address: web.test, ports: {http: %d}}]
`, port),
		"vs.yaml": shopRoute("web"),
	})
	in := startIngressWith(t, bin, []string{"--dns-server", dns.Addr.String()}, 80)
	c := &http.Client{Timeout: 10 * time.Second}
	if status, body := get(t, c, in.url(80)+"/", "shop.example.com"); status != 200 || body != "old" {
		t.Fatalf("before the change: %d %q", status, body)
	}
	dns.Set(t, map[string][]string{"web.test": {"127.0.0.3"}})
	changed := time.Now()
	for {
		status, body := get(t, c, in.url(80)+"/", "shop.example.com")
		if status == 200 && body == "new" {
			break
		}
		if status != 200 || body != "old" {
			t.Fatalf("during the change: %d %q", status, body)
		}
		if time.Since(changed) > 15*time.Second {
			t.Fatalf("traffic still goes to the old address %s after the record changed (TTL 1s)", time.Since(changed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := dns.Queries("web.test"); n < 2 {
		t.Errorf("dnsmasq was asked %d times for web.test", n)
	}
}
