package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalRateLimitEndToEnd: gwc.io/local-rate-limit gives each host a
// token bucket, full at start; past it the binary answers 429 as Envoy's
// local_ratelimit filter does (body local_rate_limited, x-envoy-ratelimited:
// true), logged and counted with response flag RL. The refill (1 an hour)
// cannot add a token during the test.
func TestLocalRateLimitEndToEnd(t *testing.T) {
	_, port := backend(t, "A", 0)
	gw := strings.Replace(shopGateway, "metadata: {name: shop-gw, namespace: shop}",
		"metadata:\n  name: shop-gw\n  namespace: shop\n  annotations: {gwc.io/local-rate-limit: \"1/1h;burst=3\"}", 1)
	if gw == shopGateway {
		t.Fatal("the gateway fixture changed: no annotation added")
	}
	free := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: free
  namespace: shop
  annotations: {gwc.io/local-rate-limit: "off"}
spec:
  hosts: [free.example.com]
  gateways: [shop-gw]
  http:
  - route: [{destination: {host: a.shop.svc.cluster.local}}]
`
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": strings.Replace(gw, `"www.example.org"]`, `"www.example.org", "free.example.com"]`, 1),
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":      shopRoute("a") + "---\n" + free,
	})
	logFile := filepath.Join(t.TempDir(), "access.log")
	in := startIngressWith(t, bin, []string{"--access-log", logFile}, 80)
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(host string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", in.url(80)+"/", nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Envoy-Ratelimited")
	}
	for i := range 3 {
		if code, body, rl := do("shop.example.com"); code != 200 || rl != "" {
			t.Errorf("request %d within the burst: %d %q x-envoy-ratelimited %q, want 200", i, code, body, rl)
		}
	}
	for i := range 2 {
		if code, body, rl := do("shop.example.com"); code != 429 || body != "local_rate_limited" || rl != "true" {
			t.Errorf("request %d past the burst: %d %q x-envoy-ratelimited %q, want 429 local_rate_limited true", i, code, body, rl)
		}
	}
	for i := range 5 {
		if code, _, _ := do("free.example.com"); code != 200 {
			t.Errorf("free host, request %d: %d, want 200 (its VirtualService turns the limit off)", i, code)
		}
	}
	if counts := in.settledCounts(t, 10); counts["200 -"] != 8 || counts["429 RL"] != 2 || len(counts) != 2 {
		t.Errorf("istio_requests_total by code and flags: %v, want 8×200 and 2×429 RL", counts)
	}
	limited := 0
	for i := 0; i < 100 && limited < 2; i++ {
		time.Sleep(20 * time.Millisecond)
		data, _ := os.ReadFile(logFile)
		limited = strings.Count(string(data), `" 429 RL local_rate_limited `)
	}
	if limited != 2 {
		data, _ := os.ReadFile(logFile)
		t.Errorf("access log: %d lines with 429 RL local_rate_limited, want 2:\n%s", limited, data)
	}
}
