package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGatewayTopologyAnnotation builds a Gateway whose proxy.istio.io/config
// annotation says a PROXY header starts every connection and one proxy in
// front appends to X-Forwarded-For, and drives the binary over raw TCP.
func TestGatewayTopologyAnnotation(t *testing.T) {
	_, port := backend(t, "web", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: shop-gw
  namespace: shop
  annotations:
    proxy.istio.io/config: |
      gatewayTopology:
        numTrustedProxies: 1
        proxyProtocol: {}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
`,
		"se.yaml": staticEntry("web", "web.shop.svc.cluster.local", port),
		"vs.yaml": shopRoute("web"),
	})
	in := startIngress(t, bin, 80)
	in.mu.Lock()
	addr := in.ports[80]
	in.mu.Unlock()
	send := func(data string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, data)
		out, _ := io.ReadAll(c)
		return string(out)
	}
	req := "GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-For: 198.51.100.4, 203.0.113.50\r\nConnection: close\r\n\r\n"
	// The load balancer (PROXY source 192.0.2.20) is the peer appended;
	// the one trusted hop makes 203.0.113.50 the client.
	out := send("PROXY TCP4 192.0.2.20 192.0.2.1 33000 80\r\n" + req)
	if !strings.Contains(out, "200 OK") || !strings.Contains(out, "xff=198.51.100.4, 203.0.113.50,192.0.2.20 ") {
		t.Errorf("with a PROXY header: got %q", out)
	}
	if out := send(req); out != "" {
		t.Errorf("without a PROXY header: got %q, want the connection closed unanswered", out)
	}
}

// TestGatewayTopologyDiagnostics: bad gatewayTopology values are GWC
// errors at the annotation's position, other ProxyConfig fields a warning.
func TestGatewayTopologyDiagnostics(t *testing.T) {
	dir := t.TempDir()
	gw := func(name, cfg string) string {
		return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ` + name + `
  namespace: shop
  annotations:
    proxy.istio.io/config: ` + cfg + `
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [` + name + `.example.com]
`
	}
	files := map[string]string{
		"a.yaml": gw("a", `"gatewayTopology: {numTrustedProxies: -1}"`),
		"b.yaml": gw("b", `"gatewayTopology: {forwardClientCertDetails: sanitize_set}"`),
		"c.yaml": gw("c", `"gatewayTopology: {proxyProtocol: {version: V2}}"`),
		"d.yaml": gw("d", `"{concurrency: 2, gatewayTopology: {numTrusted: 1}}"`),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"vet", dir}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("gwc vet exited %d, want 1:\n%s", code, stderr.String())
	}
	got := stderr.String() + stdout.String()
	for _, want := range []string{
		"a.yaml:7:28: error GWC0309", "numTrustedProxies: -1 is not a count of proxies",
		"b.yaml:7:28: error GWC0309", `forwardClientCertDetails: unknown value "sanitize_set"`,
		"c.yaml:7:28: error GWC0309", `proxyProtocol: unknown field "version"`,
		"d.yaml:7:28: warning GWC0309", "concurrency has no effect on a gwc binary",
		"d.yaml:7:28: error GWC0309", `unknown field "numTrusted"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("gwc vet output lacks %q:\n%s", want, got)
		}
	}
}
