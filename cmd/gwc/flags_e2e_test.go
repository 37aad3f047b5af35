package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingBackend answers 200 once release is closed; entered receives one
// value per request that reached it.
func blockingBackend(t *testing.T) (port int, entered chan struct{}, release func()) {
	t.Helper()
	entered, stop := make(chan struct{}, 16), make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(stop) }) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-stop:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "slow")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { release(); srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, entered, release
}

var accessLineRE = regexp.MustCompile(`^\[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) (\S+) `)

// TestAccessLogResponseFlags drives the binary into each failure Envoy
// flags and checks the access-log line and the metric of each: 200, 404
// NR, 503 UH (an empty ServiceEntry, a subset selecting no endpoint), 503
// UF (and UF,URX once the default retries run out), 504 UT and 503 UO.
func TestAccessLogResponseFlags(t *testing.T) {
	_, okPort := backend(t, "ok", 0)
	_, slowPort := backend(t, "slow", 2*time.Second)
	busyPort, entered, release := blockingBackend(t)
	dead := closedPort(t)
	logFile := filepath.Join(t.TempDir(), "access.log")

	vs := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match: [{uri: {exact: /ok}}]
    route: [{destination: {host: ok}}]
  - match: [{uri: {exact: /none}}]
    route: [{destination: {host: none}}]
  - match: [{uri: {exact: /no-subset}}]
    route: [{destination: {host: ok, subset: v3}}]
  - match: [{uri: {exact: /dead}}]
    retries: {attempts: 0}
    route: [{destination: {host: dead}}]
  - match: [{uri: {exact: /dead-retried}}]
    route: [{destination: {host: dead}}]
  - match: [{uri: {exact: /slow}}]
    timeout: 100ms
    route: [{destination: {host: slow}}]
  - match: [{uri: {prefix: /busy}}]
    route: [{destination: {host: busy}}]
`
	dr := `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: busy, namespace: shop}
spec:
  host: busy
  trafficPolicy:
    connectionPool: {http: {http2MaxRequests: 1}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ok, namespace: shop}
spec:
  host: ok
  subsets: [{name: v3, labels: {version: v3}}]
`
	none := `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: none, namespace: shop}
spec:
  hosts: [none.shop.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
`
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"vs.yaml":      vs,
		"dr.yaml":      dr,
		"se.yaml": strings.Join([]string{
			staticEntry("ok", "ok.shop.svc.cluster.local", okPort),
			staticEntry("slow", "slow.shop.svc.cluster.local", slowPort),
			staticEntry("busy", "busy.shop.svc.cluster.local", busyPort),
			staticEntry("dead", "dead.shop.svc.cluster.local", dead),
			none,
		}, "---\n"),
	})
	in := startIngressWith(t, bin, []string{"--access-log", logFile}, 80)
	c := &http.Client{Timeout: 10 * time.Second}
	url := in.url(80)

	want := map[string]string{} // path -> "code flags"
	check := func(path, host string, code int, flags string) {
		t.Helper()
		if got, body := get(t, c, url+path, host); got != code {
			t.Errorf("%s: status %d %q, want %d", path, got, body, code)
		}
		want[path] = fmt.Sprintf("%d %s", code, flags)
	}
	check("/ok", "shop.example.com", 200, "-")
	check("/nr", "nowhere.example.com", 404, "NR")
	check("/none", "shop.example.com", 503, "UH")
	// A subset that selects no endpoint yet (the build warns, IST0173):
	// istiod builds its cluster empty and Envoy answers no healthy
	// upstream (conformance case subsets.txtar).
	check("/no-subset", "shop.example.com", 503, "UH")
	check("/dead", "shop.example.com", 503, "UF")
	// Istio's default retry policy (2 more attempts on connect-failure)
	// runs out: Envoy adds URX.
	check("/dead-retried", "shop.example.com", 503, "UF,URX")
	check("/slow", "shop.example.com", 504, "UT")

	// The breaker admits one request to busy: while it is held at the
	// backend, the next overflows at once.
	held := make(chan int, 1)
	go func() {
		code, _ := get(t, c, url+"/busy-held", "shop.example.com")
		held <- code
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first busy request never reached the backend")
	}
	req, _ := http.NewRequest("GET", url+"/busy-over", nil)
	req.Host = "shop.example.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("X-Envoy-Overloaded") != "true" {
		t.Errorf("over the limit: status %d, x-envoy-overloaded %q; want 503 and true", resp.StatusCode, resp.Header.Get("X-Envoy-Overloaded"))
	}
	want["/busy-over"] = "503 UO"
	release()
	if code := <-held; code != 200 {
		t.Errorf("the held request: status %d, want 200", code)
	}
	want["/busy-held"] = "200 -"

	// The log is written asynchronously: wait, bounded, for every line.
	got := map[string]string{}
	for i := 0; i < 100 && len(got) < len(want); i++ {
		time.Sleep(20 * time.Millisecond)
		data, _ := os.ReadFile(logFile)
		got = map[string]string{}
		for line := range strings.SplitSeq(string(data), "\n") {
			if m := accessLineRE.FindStringSubmatch(line); m != nil {
				got[m[2]] = m[3] + " " + m[4]
			}
		}
	}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("access log for %s: %q, want %q", path, got[path], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("access log has %d request lines, want %d: %v", len(got), len(want), got)
	}

	// The same requests, counted by code and flags.
	counts := requestCounts(in.scrape(t))
	wantCounts := map[string]float64{}
	for _, w := range want {
		wantCounts[w]++
	}
	for k, n := range wantCounts {
		if counts[k] != n {
			t.Errorf("istio_requests_total{%s}: %v, want %v", k, counts[k], n)
		}
	}
	if len(counts) != len(wantCounts) {
		t.Errorf("istio_requests_total by code and flags: %v, want %v", counts, wantCounts)
	}
}
