package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// End-to-end: real gwc build, real binary, real backends, real clients.

const shopGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["shop.example.com", "*.api.example.com", "www.example.org"]
`

func TestRoutingEndToEnd(t *testing.T) {
	_, webPort := backend(t, "web", 0)
	_, apiPort := backend(t, "api", 0)
	_, adminPort := backend(t, "admin", 0)
	_, wildPort := backend(t, "wild", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml": staticEntry("web", "web.shop.svc.cluster.local", webPort) + "---\n" +
			staticEntry("api", "api.shop.svc.cluster.local", apiPort) + "---\n" +
			staticEntry("admin", "admin.shop.svc.cluster.local", adminPort) + "---\n" +
			staticEntry("wild", "wild.shop.svc.cluster.local", wildPort),
		"vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match:
    - uri: {exact: /admin}
      method: {exact: POST}
    - headers: {x-role: {exact: admin}}
    route: [{destination: {host: admin, port: {number: 8080}}}]
  - match:
    - uri: {prefix: /api/}
    - uri: {regex: '/v[0-9]+/.*'}
    route: [{destination: {host: api, port: {number: 8080}}}]
  - match:
    - uri: {prefix: /}
    route: [{destination: {host: web, port: {number: 8080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: shop}
spec:
  hosts: ["*.api.example.com"]
  gateways: [shop/shop-gw]
  http:
  - match: [{uri: {prefix: /only}}]
    route: [{destination: {host: wild.shop.svc.cluster.local, port: {number: 8080}}}]
`,
	})
	in := startIngress(t, bin, 80)
	base := in.url(80)
	client := &http.Client{}

	cases := []struct {
		method, host, path string
		header             []string
		status             int
		backend            string
	}{
		{"GET", "shop.example.com", "/", nil, 200, "web"},
		{"GET", "shop.example.com", "/admin", nil, 200, "web"},
		{"POST", "shop.example.com", "/admin", nil, 200, "admin"},
		{"GET", "shop.example.com", "/x", []string{"x-role", "admin"}, 200, "admin"},
		{"GET", "shop.example.com", "/x", []string{"x-role", "administrator"}, 200, "web"},
		{"GET", "shop.example.com", "/api/items?q=1", nil, 200, "api"},
		{"GET", "shop.example.com", "/api", nil, 200, "web"},
		{"GET", "shop.example.com", "/v2/items", nil, 200, "api"},
		{"GET", "shop.example.com", "/xv2/items", nil, 200, "web"},
		{"GET", "SHOP.Example.COM:80", "/api/x", nil, 200, "api"},
		{"GET", "shop.example.com:8080", "/", nil, 200, "web"},
		{"GET", "a.api.example.com", "/only/this", nil, 200, "wild"},
		{"GET", "a.b.api.example.com", "/only", nil, 200, "wild"},
		{"GET", "a.api.example.com", "/other", nil, 404, ""},
		{"GET", "api.example.com", "/only", nil, 404, ""},
		{"GET", "www.example.org", "/", nil, 404, ""}, // a server host no VirtualService binds
		{"GET", "unknown.example.net", "/", nil, 404, ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		req.Host = c.host
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s%s: %v", c.method, c.host, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("X-Backend") != c.backend {
			t.Errorf("%s %s%s %v: got %d from %q, want %d from %q", c.method, c.host, c.path, c.header,
				resp.StatusCode, resp.Header.Get("X-Backend"), c.status, c.backend)
		}
	}

	// What the backend saw: the path and query as sent, and Envoy's headers.
	status, body := get(t, client, base+"/api/items?q=1", "shop.example.com", "X-Forwarded-For", "203.0.113.7")
	if status != 200 || !strings.Contains(body, "api GET /api/items?q=1 xff=203.0.113.7,127.0.0.1 xfp=http rid=true") {
		t.Errorf("backend saw %q (status %d)", body, status)
	}
}

func TestDeadBackendIs503(t *testing.T) {
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("web", "web.shop.svc.cluster.local", closedPort(t)),
		"vs.yaml":      shopRoute("web"),
	})
	in := startIngress(t, bin, 80)
	status, body := get(t, http.DefaultClient, in.url(80)+"/", "shop.example.com")
	if status != 503 || !strings.Contains(body, "upstream connect error") {
		t.Errorf("got %d %q, want 503 with Envoy's connect-failure body", status, body)
	}
}

func TestWeightedSplit(t *testing.T) {
	_, v1 := backend(t, "v1", 0)
	_, v2 := backend(t, "v2", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml": staticEntry("v1", "v1.shop.svc.cluster.local", v1) + "---\n" +
			staticEntry("v2", "v2.shop.svc.cluster.local", v2),
		// Weights need not sum to 100 (Istio): 30:10 is 75% / 25%.
		"vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - route:
    - {destination: {host: v1}, weight: 30}
    - {destination: {host: v2}, weight: 10}
`,
	})
	in := startIngress(t, bin, 80)
	const n = 2000
	counts := map[string]int{}
	for range n {
		_, body := get(t, http.DefaultClient, in.url(80)+"/", "shop.example.com")
		counts[strings.Fields(body)[0]]++
	}
	share := float64(counts["v1"]) / n
	// 75% expected; the band is ±5 points, over 4 standard deviations at n=2000.
	if share < 0.70 || share > 0.80 || counts["v1"]+counts["v2"] != n {
		t.Errorf("v1 got %.1f%% of %d requests (%v), want 75%%", share*100, n, counts)
	}
}

// TestDrainLosesNoRequest sends SIGTERM while slow requests are in flight:
// every one of them must complete, and the process must exit 0.
func TestDrainLosesNoRequest(t *testing.T) {
	arrived := make(chan struct{}, 64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(500 * time.Millisecond)
		fmt.Fprint(w, "slow")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	slow := ln.Addr().(*net.TCPAddr).Port
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("slow", "slow.shop.svc.cluster.local", slow),
		"vs.yaml":      shopRoute("slow"),
	})
	in := startIngress(t, bin, 80)
	url := in.url(80) + "/"
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s?i=%d", url, i), nil)
			req.Host = "shop.example.com"
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	for range n {
		<-arrived // every request is now in flight at the backend
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("in-flight request lost: %v", err)
	}
	select {
	case <-in.exited:
		if in.err != nil {
			t.Errorf("ingress exited with %v, want status 0", in.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ingress did not exit after drain")
	}
	// After the drain nothing listens any more.
	if _, err := http.Get(url); err == nil {
		t.Error("listener still accepting after drain")
	}
}

// TestDNSEndpoints resolves a ServiceEntry DNS endpoint at run time
// (localhost, answered from the hosts file: no traffic leaves the machine).
func TestDNSEndpoints(t *testing.T) {
	_, port := backend(t, "dns", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml": fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints: [{address: localhost, ports: {http: %d}}]
`, port),
		"vs.yaml": shopRoute("web"),
	})
	in := startIngress(t, bin, 80)
	for range 5 {
		if status, body := get(t, http.DefaultClient, in.url(80)+"/", "shop.example.com"); status != 200 || !strings.HasPrefix(body, "dns ") {
			t.Fatalf("got %d %q", status, body)
		}
	}
}
