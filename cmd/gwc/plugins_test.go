package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildPlugin builds a plugin executable into dir/name with go build.
func buildPlugin(t testing.TB, dir, name, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := append([]string{"build", "-o", out}, flags...)
	if b, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	return out
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(to) // a running executable cannot be rewritten in place
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// pluginHeaderBackend answers with the request headers the plugins touch.
func pluginHeaderBackend(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Order") || strings.HasPrefix(k, "X-Gwc-") || strings.HasPrefix(k, "X-Api-Key") {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "%s=%s\n", strings.ToLower(k), r.Header.Get(k))
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

type reply struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, url, host string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(body)}
}

func pluginResource(name, url, sum, extra string) string {
	s := fmt.Sprintf("---\napiVersion: extensions.gwc.dev/v1alpha1\nkind: GatewayPlugin\nmetadata: {name: %s, namespace: shop}\nspec:\n  url: file://%s\n", name, url)
	if sum != "" {
		s += "  sha256: " + sum + "\n"
	}
	return s + extra
}

// TestPlugins runs real plugin processes in one ingress: the two example
// plugins and three instances of a test plugin that tags, crashes and
// hangs on demand. The same binary then meets broken plugin files at start.
func TestPlugins(t *testing.T) {
	dir := t.TempDir()
	apikey := buildPlugin(t, dir, "apikey", "../../examples/plugins/apikey")
	header := buildPlugin(t, dir, "header", "../../examples/plugins/header")
	misbehave := buildPlugin(t, dir, "misbehave", "./testdata/plugins/misbehave")
	proto2 := buildPlugin(t, t.TempDir(), "misbehave", "./testdata/plugins/misbehave", "-ldflags", "-X main.protocol=2")
	port := pluginHeaderBackend(t)

	config := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [shop-gw]
  http:
  - name: all
    route: [{destination: {host: echo.shop.svc.cluster.local}}]
---
` + staticEntry("echo", "echo.shop.svc.cluster.local", port) +
		pluginResource("apikey", apikey, sha256File(t, apikey), `  phase: AUTHN
  match: [{hosts: [api.example.com]}]
  pluginConfig: {keys: {alice: k-123}}
`) + pluginResource("header", header, sha256File(t, header), `  pluginConfig: {prefix: x-gwc-, via: edge-1}
  match: [{ports: [{number: 80}], routes: [shop/shop/all]}]
`) + pluginResource("order-a", misbehave, "", `  phase: AUTHZ
  priority: 10
  timeout: 300ms
  pluginConfig: {tag: a}
  match: [{hosts: ["*.example.com"]}]
`) + pluginResource("order-b", misbehave, "", `  phase: AUTHZ
  priority: 20
  pluginConfig: {tag: b}
`) + pluginResource("order-c", misbehave, "", `  phase: STATS
  priority: 100
  failStrategy: FAIL_OPEN
  timeout: 300ms
  pluginConfig: {tag: c}
`)
	bin := buildIngress(t, map[string]string{"shop.yaml": config})

	t.Run("traffic", func(t *testing.T) {
		accessLog := filepath.Join(t.TempDir(), "access.log")
		in := startIngressWith(t, bin, []string{"--access-log", accessLog}, 80)
		url := in.url(80) + "/"

		// allow, header mutation on request and response, order b,a,c
		r := send(t, url, "shop.example.com")
		if r.status != 200 {
			t.Fatalf("allowed request: %d %q", r.status, r.body)
		}
		for _, want := range []string{"x-order=b,a,c\n", "x-gwc-client-ip=127.0.0.1\n", "x-gwc-route=", "shop/shop http[0]"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("upstream saw %q, want %q in it", r.body, want)
			}
		}
		if got := r.header.Get("X-Gwc-Via"); got != "edge-1" {
			t.Errorf("response header x-gwc-via = %q, want edge-1", got)
		}

		// api key: 401 without, 401 wrong, 200 right (key stripped, name added)
		if r := send(t, url+"no-key", "api.example.com"); r.status != 401 || !strings.Contains(r.body, "invalid API key") || r.header.Get("Www-Authenticate") == "" {
			t.Errorf("no key: %d %q %v", r.status, r.body, r.header)
		}
		if r := send(t, url, "api.example.com", "x-api-key", "k-999"); r.status != 401 {
			t.Errorf("wrong key: %d %q", r.status, r.body)
		}
		r = send(t, url, "api.example.com", "x-api-key", "k-123")
		if r.status != 200 || !strings.Contains(r.body, "x-api-key-name=alice\n") || strings.Contains(r.body, "x-api-key=") {
			t.Errorf("right key: %d %q", r.status, r.body)
		}
		// a deny stops the chain: apikey (AUTHN) runs before the others
		if r := send(t, url, "api.example.com"); strings.Contains(r.body, "x-order") {
			t.Errorf("denied request reached later plugins or upstream: %q", r.body)
		}

		// a host outside order-a's match skips it
		if r := send(t, url, "other.test"); !strings.Contains(r.body, "x-order=b,c\n") {
			t.Errorf("order-a should not run for other.test: %q", r.body)
		}

		// hang past the deadline: FAIL_CLOSE answers 503, FAIL_OPEN passes
		if r := send(t, url+"hang-a", "shop.example.com", "x-misbehave", "hang-a"); r.status != 503 || r.body != "plugin unavailable" {
			t.Errorf("hanging FAIL_CLOSE plugin: %d %q", r.status, r.body)
		}
		if r := send(t, url+"hang-c", "shop.example.com", "x-misbehave", "hang-c"); r.status != 200 || !strings.Contains(r.body, "x-order=b,a\n") {
			t.Errorf("hanging FAIL_OPEN plugin: %d %q", r.status, r.body)
		}
		// a late plugin is not restarted
		if r := send(t, url, "shop.example.com"); r.status != 200 {
			t.Errorf("after the hang: %d %q", r.status, r.body)
		}

		// crash mid-traffic, FAIL_OPEN: the request passes, later ones too
		if r := send(t, url, "shop.example.com", "x-misbehave", "crash-c"); r.status != 200 || !strings.Contains(r.body, "x-order=b,a\n") {
			t.Errorf("crashing FAIL_OPEN plugin: %d %q", r.status, r.body)
		}
		// crash mid-traffic, FAIL_CLOSE: 503 until restarted
		if r := send(t, url+"crash-a", "shop.example.com", "x-misbehave", "crash-a"); r.status != 503 {
			t.Errorf("crashing FAIL_CLOSE plugin: %d %q", r.status, r.body)
		}
		waitFor(t, func() bool {
			r := send(t, url, "shop.example.com")
			return r.status == 200 && strings.Contains(r.body, "x-order=b,a,c\n")
		}, "both crashed plugins restarted")

		// a FAIL_CLOSE 503 is counted with Envoy's UAEX flag
		in.mu.Lock()
		status := in.status
		in.mu.Unlock()
		if m := scrape(t, status); !regexp.MustCompile(`istio_requests_total\{[^}]*response_code="503"[^}]*response_flags="UAEX"[^}]*\} [1-9]`).MatchString(m) {
			t.Errorf("no istio_requests_total series with response_code 503 and flags UAEX:\n%s", grepLines(m, "istio_requests_total{"))
		}
		// and per plugin: the requests its failStrategy decided
		for _, re := range []string{
			`gwc_plugin_failures_total\{fail_strategy="FAIL_CLOSE",plugin="shop/order-a"\} ([2-9]|[1-9][0-9]+)\n`,
			`gwc_plugin_failures_total\{fail_strategy="FAIL_OPEN",plugin="shop/order-c"\} ([2-9]|[1-9][0-9]+)\n`,
			`gwc_plugin_failures_total\{fail_strategy="FAIL_CLOSE",plugin="shop/apikey"\} 0\n`,
		} {
			if m := scrape(t, status); !regexp.MustCompile(re).MatchString(m) {
				t.Errorf("metrics lack %s:\n%s", re, grepLines(m, "gwc_plugin"))
			}
		}

		// drain: the plugins stop after the listeners
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			t.Fatal("ingress did not exit after SIGTERM")
		}
		logs := in.logs()
		if strings.Contains(logs, "plugin=shop/order-c failed_open=0") {
			t.Error("FAIL_OPEN passes not counted")
		}
		if i, j := strings.Index(logs, "msg=stopped"), strings.Index(logs, `msg="plugin stopped" plugin=shop/header`); i < 0 || j < i {
			t.Errorf("plugins not stopped after the drain")
		}
		// The access log: a FAIL_CLOSE 503 carries UAEX, whether the plugin
		// was late or crashed; a deny is an ordinary local reply; a
		// FAIL_OPEN pass is an ordinary upstream response.
		data, err := os.ReadFile(accessLog)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`"GET /hang-a HTTP/1.1" 503 UAEX ext_authz_error - "-" `,
			`"GET /crash-a HTTP/1.1" 503 UAEX ext_authz_error - "-" `,
			`"GET /no-key HTTP/1.1" 401 - - - "-" `,
			`"GET /hang-c HTTP/1.1" 200 - via_upstream - "-" `,
		} {
			if !strings.Contains(string(data), want) {
				t.Errorf("access log lacks %q:\n%s", want, data)
			}
		}
		for _, want := range []string{
			`msg="plugin stderr" plugin=shop/order-a line="panic: crashing on purpose"`,
			`msg="plugin restarted" plugin=shop/order-c`,
			`msg="plugin restarted" plugin=shop/order-a`,
			`msg="plugin stopped" plugin=shop/order-c failed_open=`,
		} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q", want)
			}
		}
	})

	failStart := func(t *testing.T, want ...string) {
		t.Helper()
		cmd := exec.Command(bin, "--listen", "80=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("ingress still running after 20s:\n%s", out)
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("exit: %v, want status 1", err)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(string(out), "msg=ready") {
			t.Errorf("ingress became ready:\n%s", out)
		}
	}

	t.Run("killed ingress", func(t *testing.T) {
		if _, err := os.Stat("/proc/self/exe"); err != nil {
			t.Skip("no /proc: the kernel cannot tie a plugin to its ingress here")
		}
		in := startIngress(t, bin, 80)
		if n := pluginProcesses(t, header); n != 1 {
			t.Fatalf("%d header plugin processes, want 1", n)
		}
		in.cmd.Process.Kill()
		<-in.exited
		waitFor(t, func() bool { return pluginProcesses(t, header) == 0 }, "the plugins of a killed ingress exit")
	})
	t.Run("wrong sha256", func(t *testing.T) {
		good := apikey + ".good"
		copyFile(t, apikey, good)
		copyFile(t, header, apikey)
		defer copyFile(t, good, apikey)
		failStart(t, "plugin shop/apikey: sha256 of "+apikey+" is "+sha256File(t, header)+", want "+sha256File(t, good)+": refusing to start it")
	})
	t.Run("other handshake version", func(t *testing.T) {
		good := misbehave + ".good"
		copyFile(t, misbehave, good)
		copyFile(t, proto2, misbehave)
		defer copyFile(t, good, misbehave)
		failStart(t, "plugin shop/order-b: starting "+misbehave+": incompatible API version with plugin. Plugin version: 2, Client versions: [1]")
	})
	t.Run("not a plugin", func(t *testing.T) {
		good := misbehave + ".good"
		copyFile(t, misbehave, good)
		defer copyFile(t, good, misbehave)
		os.Remove(misbehave)
		if err := os.WriteFile(misbehave, []byte("#!/bin/sh\necho not a plugin >&2\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		failStart(t, "plugin shop/order-b: starting "+misbehave+": it exited or wrote something else than the handshake",
			`msg="plugin stderr" plugin=shop/order-b line="not a plugin"`)
	})
	t.Run("missing and not executable", func(t *testing.T) {
		good := header + ".good"
		copyFile(t, header, good)
		defer copyFile(t, good, header)
		os.Chmod(header, 0o644)
		failStart(t, "plugin shop/header: "+header+" is not an executable file")
		os.Remove(header)
		failStart(t, "plugin shop/header: executable "+header+" does not exist")
	})
}

// pluginProcesses counts the running processes of executable path.
func pluginProcesses(t *testing.T, path string) int {
	t.Helper()
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	n := 0
	for _, exe := range exes {
		if target, err := os.Readlink(exe); err == nil && target == path {
			n++
		}
	}
	return n
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

// scrape returns the Prometheus exposition of the status server at addr.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
