package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSecurityAuthzExample builds ./examples/security-authz with the real
// gwc build, runs the demo backend where its ServiceEntry says httpbin is
// (127.0.0.1:9080), and replays the README's requests with the status
// codes Istio's tasks document: deny by method, and an IP allow list by
// connecting from another loopback address.
func TestSecurityAuthzExample(t *testing.T) {
	startDemoBackend(t, "httpbin")
	in := startIngress(t, buildPaths(t, "../../examples/security-authz"), 80)

	from := func(src string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		}}
	}
	try := func(c *http.Client, method, path, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, in.url(80)+path, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s from the client: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	local, other := from("127.0.0.1"), from("127.0.0.2")
	for _, c := range []struct {
		name         string
		client       *http.Client
		method, host string
		want         int
	}{
		{"allowed", local, "GET", "httpbin.example.com", 200},
		{"deny by method", local, "DELETE", "httpbin.example.com", 403},
		{"deny by method, Host with a port", local, "DELETE", "httpbin.example.com:80", 403},
		{"not on the allow list", other, "GET", "httpbin.example.com", 403},
		{"not on the allow list, Host with a port", other, "GET", "httpbin.example.com:80", 403},
		{"another host is not this example's", other, "GET", "nowhere.example.com", 404},
	} {
		code, body := try(c.client, c.method, "/get", c.host)
		if code != c.want || c.want == 403 && body != "RBAC: access denied" || c.want == 200 && !strings.Contains(body, `"service": "httpbin"`) {
			t.Errorf("%s: %s Host %s: %d %q, want %d", c.name, c.method, c.host, code, body, c.want)
		}
	}
}
