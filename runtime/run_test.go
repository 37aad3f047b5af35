package runtime

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// routingConfig has one HTTP listener on port 80 with:
//   - a.example.com: exact /exact -> A, regex /items/[0-9]+ -> B, POST /m -> B,
//     header x-version: v2 on /h -> B, prefix /api -> A
//   - *.wild.example.com: everything -> B
//
// and clusters A (index 0) and B (index 1).
func routingConfig(t testing.TB, a, b string) *Config {
	toA := []WeightedCluster{{Cluster: 0, Weight: 100}}
	toB := []WeightedCluster{{Cluster: 1, Weight: 100}}
	return &Config{
		Digest:  "sha256:test",
		Sources: []string{"gateway.yaml", "vs.yaml"},
		Listeners: []Listener{{
			Port:     80,
			Protocol: "HTTP",
			Hosts:    hosts(t, map[string]int32{"a.example.com": 0}, map[string]int32{"wild.example.com": 1}, -1),
			VirtualHosts: []VirtualHost{
				{Domain: "a.example.com", Routes: []Route{
					{ID: "vs.yaml:10:7 default/a http[0]", Matches: []Match{{Path: exact("/exact")}}, Clusters: toA},
					{ID: "vs.yaml:14:7 default/a http[1]", Matches: []Match{{Path: regex(`/items/[0-9]+`)}}, Clusters: toB},
					{ID: "vs.yaml:18:7 default/a http[2]", Matches: []Match{{Path: prefix("/m"), Method: exact("POST")}}, Clusters: toB},
					{ID: "vs.yaml:22:7 default/a http[3]", Matches: []Match{{Path: prefix("/h"), Headers: []HeaderMatch{{Name: "x-version", Match: exact("v2")}}}}, Clusters: toB},
					{ID: "vs.yaml:26:7 default/a http[4]", Matches: []Match{{Path: prefix("/api")}}, Clusters: toA},
				}},
				{Domain: "*.wild.example.com", Routes: []Route{
					{ID: "vs.yaml:40:7 default/wild http[0]", Clusters: toB},
				}},
			},
		}},
		Clusters: []Cluster{
			{Name: "outbound|80||a.default.svc.cluster.local", Endpoints: []Endpoint{{Address: a}}},
			{Name: "outbound|80||b.default.svc.cluster.local", Endpoints: []Endpoint{{Address: b}}},
		},
	}
}

func TestRouting(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	g := startGateway(t, routingConfig(t, hostPort(a), hostPort(b)))
	c := client()
	tests := []struct {
		method, host, target string
		header               http.Header
		want                 string // backend, or the status for a local reply
	}{
		{"GET", "a.example.com", "/exact", nil, "A"},
		{"GET", "A.Example.COM", "/exact", nil, "A"},            // case-insensitive host
		{"GET", "a.example.com:8080", "/exact", nil, "A"},       // port ignored
		{"GET", "a.example.com", "/exact?x=/items/1", nil, "A"}, // query not matched
		{"GET", "a.example.com", "/exact/", nil, "404"},
		{"GET", "a.example.com", "/items/7", nil, "B"},
		{"GET", "a.example.com", "/items/7a", nil, "404"},
		{"POST", "a.example.com", "/m", nil, "B"},
		{"GET", "a.example.com", "/m", nil, "404"},
		{"GET", "a.example.com", "/h", http.Header{"X-Version": {"v2"}}, "B"},
		{"GET", "a.example.com", "/h", http.Header{"X-Version": {"v1"}}, "404"},
		{"GET", "a.example.com", "/api/users", nil, "A"},
		{"GET", "a.example.com", "/nothing", nil, "404"},
		{"GET", "x.wild.example.com", "/anything", nil, "B"},
		{"GET", "x.y.wild.example.com", "/", nil, "B"},
		{"GET", "wild.example.com", "/", nil, "404"}, // "*." needs a label
		{"GET", "unknown.example.com", "/exact", nil, "404"},
	}
	for _, tt := range tests {
		resp, body := g.do(t, c, 80, tt.method, tt.host, tt.target, tt.header)
		if got := resp.Header.Get("Server"); got != "istio-envoy" {
			t.Errorf("%s %s%s: server %q, want istio-envoy", tt.method, tt.host, tt.target, got)
		}
		if strings.HasPrefix(tt.want, "4") {
			if resp.StatusCode != 404 || body != "" {
				t.Errorf("%s %s%s: %d %q, want 404 with an empty body", tt.method, tt.host, tt.target, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s %s%s: status %d %q, want 200", tt.method, tt.host, tt.target, resp.StatusCode, body)
			continue
		}
		if s := seenBy(t, body); s.Backend != tt.want {
			t.Errorf("%s %s%s: reached %s, want %s", tt.method, tt.host, tt.target, s.Backend, tt.want)
		}
	}
}

func TestPathForwardedNormalised(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	g := startGateway(t, routingConfig(t, hostPort(a), hostPort(b)))
	tests := []struct{ target, want string }{
		{"/api/../api/v1/%41b?x=%20&y=a+b", "/api/v1/Ab?x=%20&y=a+b"},
		{"/api/a%2Fb;p=1/./c?", "/api/a%2Fb;p=1/c?"},
		{"/api//x", "/api//x"},
	}
	for _, tt := range tests {
		out, _ := raw(t, g.addr[80], "GET "+tt.target+" HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")
		rs := responses(t, out)
		if len(rs) != 1 || rs[0].StatusCode != 200 {
			t.Fatalf("%s: %q", tt.target, out)
		}
		body, _ := io.ReadAll(rs[0].Body)
		if s := seenBy(t, string(body)); s.RequestURI != tt.want {
			t.Errorf("%s: upstream saw %q, want %q", tt.target, s.RequestURI, tt.want)
		}
	}
	// A path Envoy cannot normalise is a 400.
	out, _ := raw(t, g.addr[80], "GET /api/%00 HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")
	if rs := responses(t, out); len(rs) != 1 || rs[0].StatusCode != 400 {
		t.Errorf("GET /api/%%00: %q, want 400", out)
	}
}

func TestHTTP10Gets426(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	g := startGateway(t, routingConfig(t, hostPort(a), hostPort(b)))
	out, closed := raw(t, g.addr[80], "GET /exact HTTP/1.0\r\nHost: a.example.com\r\nConnection: keep-alive\r\n\r\n")
	rs := responses(t, out)
	if len(rs) != 1 || rs[0].StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("HTTP/1.0: %q, want 426", out)
	}
	if rs[0].Header.Get("Server") != "istio-envoy" || !closed {
		t.Errorf("HTTP/1.0: server %q, closed %v; want istio-envoy and a closed connection", rs[0].Header.Get("Server"), closed)
	}
}

func TestH2C(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	g := startGateway(t, routingConfig(t, hostPort(a), hostPort(b)))
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &protos}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections() // else the drain waits for the client to answer GOAWAY
	resp, body := g.do(t, c, 80, "GET", "a.example.com", "/exact", nil)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("h2c: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
	if s := seenBy(t, body); s.Backend != "A" || s.Host != "a.example.com" {
		t.Errorf("h2c: reached %s with Host %q", s.Backend, s.Host)
	}
}

func TestAdmin(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	g := startGateway(t, routingConfig(t, hostPort(a), hostPort(b)))
	c := client()
	resp, err := c.Get("http://" + g.admin + "/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	var dump dumpConfig
	err = json.NewDecoder(resp.Body).Decode(&dump)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if dump.Digest != "sha256:test" || len(dump.Listeners) != 1 || dump.Listeners[0].Address != g.addr[80] {
		t.Fatalf("config_dump: %+v", dump)
	}
	r0 := dump.Listeners[0].VirtualHosts[0].Routes[0]
	if r0.ID != "vs.yaml:10:7 default/a http[0]" || !strings.HasPrefix(r0.Matches[0], "uri exact ") || r0.Clusters[0].Cluster != "outbound|80||a.default.svc.cluster.local" {
		t.Errorf("config_dump route 0: %+v", r0)
	}

	resp, err = c.Get("http://" + g.admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	var cl struct{ Clusters []dumpClusterState }
	err = json.NewDecoder(resp.Body).Decode(&cl)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Clusters) != 2 || cl.Clusters[1].Endpoints[0] != hostPort(b) {
		t.Errorf("clusters: %+v", cl)
	}
	for _, addr := range []string{g.admin, g.status} {
		resp, err := c.Get("http://" + addr + "/healthz/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s/healthz/ready: %d, want 200", addr, resp.StatusCode)
		}
	}
}

func TestBindFailureExits1(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	a := backend(t, "A")
	cfg := routingConfig(t, hostPort(a), hostPort(a))
	logs := newLogSink()
	code := Run(context.Background(), cfg, []string{
		"--listen", "80=" + busy.Addr().String(),
		"--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
	}, logs)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	out := logs.String()
	if !strings.Contains(out, "binding listener for port 80 on "+busy.Addr().String()) || !strings.Contains(out, "address already in use") {
		t.Errorf("log does not explain the bind failure:\n%s", out)
	}
	if strings.Contains(out, "listener bound") || strings.Contains(out, "msg=ready") {
		t.Errorf("something was served despite the bind failure:\n%s", out)
	}
	// The status port, bound after the listener, fails the start too.
	code = Run(context.Background(), cfg, []string{
		"--listen", "80=127.0.0.1:0", "--status-addr", busy.Addr().String(), "--admin-addr", "",
	}, newLogSink())
	if code != 1 {
		t.Errorf("busy status port: exit %d, want 1", code)
	}
}

func TestFlags(t *testing.T) {
	cfg := routingConfig(t, "127.0.0.1:1", "127.0.0.1:2")
	logs := newLogSink()
	if code := Run(context.Background(), cfg, []string{"--help"}, logs); code != 0 {
		t.Errorf("--help: exit %d, want 0", code)
	}
	for _, want := range []string{"-listen PORT=ADDR", "targetPort", "-status-addr", "-admin-addr", "-drain-timeout", "Gateway ports: 80 (HTTP)"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("--help does not mention %q:\n%s", want, logs)
		}
	}
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--listen", "80"},
		{"--listen", "81=127.0.0.1:0"},
		{"--listen", "x=127.0.0.1:0"},
		{"--drain-timeout", "-1s"},
		{"extra"},
	} {
		logs := newLogSink()
		if code := Run(context.Background(), cfg, args, logs); code != 2 {
			t.Errorf("%q: exit %d, want 2; output:\n%s", args, code, logs)
		}
	}
}

func TestInvalidConfigExits1(t *testing.T) {
	cfg := routingConfig(t, "127.0.0.1:1", "not-an-ip:80")
	logs := newLogSink()
	if code := Run(context.Background(), cfg, []string{"--listen", "80=127.0.0.1:0"}, logs); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "invalid configuration") || !strings.Contains(logs.String(), "not-an-ip:80") {
		t.Errorf("log does not explain the problem:\n%s", logs)
	}
}
