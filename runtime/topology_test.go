package runtime

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// proxyV2 is a PROXY protocol v2 header for a TCP over IPv4 connection
// from src to dst (PROXY command), or a LOCAL one when src is invalid, as
// a load balancer's health check sends.
func proxyV2(src, dst netip.AddrPort) string {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n")
	if !src.IsValid() {
		return string(append(b, 0x20, 0x00, 0, 0))
	}
	b = append(b, 0x21, 0x11, 0, 12)
	b = append(b, src.Addr().AsSlice()...)
	b = append(b, dst.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return string(b)
}

// readAccessLog returns the JSON access log's downstream_remote_address
// and x_forwarded_for fields, one pair per line.
func readAccessLog(t *testing.T, path string) [][2]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		ra, _ := e["downstream_remote_address"].(string)
		xff, _ := e["x_forwarded_for"].(string)
		out = append(out, [2]string{ra, xff})
	}
	return out
}

// TestProxyProtocol sends PROXY headers of both versions over raw TCP: the
// header's source is the client the upstream (X-Forwarded-For) and the
// access log see; a connection without a valid header is closed unanswered
// and reaches no upstream.
func TestProxyProtocol(t *testing.T) {
	a := backend(t, "A")
	cfg := routingConfig(t, hostPort(a), deadAddr(t))
	cfg.Topology.ProxyProtocol = true
	logPath := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, cfg, "--access-log", logPath, "--access-log-format", "json")
	addr := g.addr[80]
	const req = "GET /exact HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n"

	for _, c := range []struct {
		name, header, wantXFF string
	}{
		{"v1", "PROXY TCP4 203.0.113.7 192.0.2.1 40001 80\r\n", "203.0.113.7"},
		{"v1 IPv6", "PROXY TCP6 2001:db8::7 2001:db8::1 40002 80\r\n", "2001:db8::7"},
		{"v2", proxyV2(netip.MustParseAddrPort("198.51.100.9:6000"), netip.MustParseAddrPort("192.0.2.1:80")), "198.51.100.9"},
		// LOCAL: the load balancer's own connection; the peer is the client.
		{"v2 LOCAL", proxyV2(netip.AddrPort{}, netip.AddrPort{}), "127.0.0.1"},
	} {
		out, _ := raw(t, addr, c.header+req)
		rs := responses(t, out)
		if len(rs) != 1 || rs[0].StatusCode != 200 {
			t.Fatalf("%s: got %q, want one 200", c.name, out)
		}
		body, _ := io.ReadAll(rs[0].Body)
		s := seenBy(t, string(body))
		if got := strings.Join(s.Header["X-Forwarded-For"], ","); got != c.wantXFF {
			t.Errorf("%s: upstream saw X-Forwarded-For %q, want %q", c.name, got, c.wantXFF)
		}
	}

	for _, c := range []struct{ name, data string }{
		{"no header", req},
		{"bad v1", "PROXY TCP4 not-an-address 192.0.2.1 1 80\r\n" + req},
		{"v1 without CRLF", "PROXY TCP4 203.0.113.7 192.0.2.1 40001 80\n" + req},
		{"v2 of version 3", strings.Replace(proxyV2(netip.MustParseAddrPort("198.51.100.9:6000"), netip.MustParseAddrPort("192.0.2.1:80")), "\x21\x11", "\x31\x11", 1) + req},
	} {
		out, closed := raw(t, addr, c.data)
		if out != "" || !closed {
			t.Errorf("%s: got %q (closed %v), want the connection closed unanswered", c.name, out, closed)
		}
	}
	g.stop(t)
	got := readAccessLog(t, logPath)
	want := []string{"203.0.113.7:40001", "[2001:db8::7]:40002", "198.51.100.9:6000", "127.0.0.1:"}
	if len(got) != len(want) {
		t.Fatalf("access log has %d lines, want %d (one per served request): %v", len(got), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i][0], w) {
			t.Errorf("access log line %d: downstream_remote_address %q, want %q", i, got[i][0], w)
		}
	}
}

// TestProxyProtocolFlagOverrides turns a compiled proxyProtocol off at run
// time: plain connections are served again.
func TestProxyProtocolFlagOverrides(t *testing.T) {
	a := backend(t, "A")
	cfg := routingConfig(t, hostPort(a), deadAddr(t))
	cfg.Topology.ProxyProtocol = true
	g := startGateway(t, cfg, "--proxy-protocol=false")
	if resp, _ := g.do(t, client(), 80, "GET", "a.example.com", "/exact", nil); resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

// TestTrustedHops holds Envoy's xff_num_trusted_hops: with 2 trusted
// proxies the client is the second address from the right of the
// X-Forwarded-For received, the peer's address is still appended, and a
// header too short or not an address leaves the peer as the client.
func TestTrustedHops(t *testing.T) {
	a := backend(t, "A")
	logPath := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, routingConfig(t, hostPort(a), deadAddr(t)),
		"--num-trusted-proxies", "2", "--access-log", logPath, "--access-log-format", "json")
	cases := []struct {
		xff            []string
		client         string // the access log's downstream address (prefix)
		wantUpstreamXF string
	}{
		{[]string{"198.51.100.1, 203.0.113.9, 192.0.2.10"}, "203.0.113.9:0", "198.51.100.1, 203.0.113.9, 192.0.2.10,127.0.0.1"},
		{[]string{"198.51.100.1", "203.0.113.9,192.0.2.10"}, "203.0.113.9:0", "198.51.100.1,203.0.113.9,192.0.2.10,127.0.0.1"},
		{[]string{"203.0.113.9"}, "127.0.0.1:", "203.0.113.9,127.0.0.1"},
		{[]string{"not-an-ip, 192.0.2.10"}, "127.0.0.1:", "not-an-ip, 192.0.2.10,127.0.0.1"},
		{nil, "127.0.0.1:", "127.0.0.1"},
	}
	c := client()
	for _, tc := range cases {
		h := http.Header{}
		if tc.xff != nil {
			h["X-Forwarded-For"] = tc.xff
		}
		resp, body := g.do(t, c, 80, "GET", "a.example.com", "/exact", h)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := strings.Join(seenBy(t, body).Header["X-Forwarded-For"], ","); got != tc.wantUpstreamXF {
			t.Errorf("XFF %q: upstream saw %q, want %q", tc.xff, got, tc.wantUpstreamXF)
		}
	}
	g.stop(t)
	got := readAccessLog(t, logPath)
	if len(got) != len(cases) {
		t.Fatalf("access log has %d lines, want %d", len(got), len(cases))
	}
	for i, tc := range cases {
		if !strings.HasPrefix(got[i][0], tc.client) {
			t.Errorf("XFF %q: access log client %q, want %q", tc.xff, got[i][0], tc.client)
		}
		if got[i][1] != tc.wantUpstreamXF {
			t.Errorf("XFF %q: access log x_forwarded_for %q, want %q", tc.xff, got[i][1], tc.wantUpstreamXF)
		}
	}
}

func TestTopologyFlagErrors(t *testing.T) {
	cfg := routingConfig(t, deadAddr(t), deadAddr(t))
	for _, args := range [][]string{
		{"--num-trusted-proxies", "-1"},
		{"--forward-client-cert-details", "sanitize"},
	} {
		var out strings.Builder
		if _, err := parseFlags(cfg, args, &out); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
