package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// The handover end to end: two binaries built from two configurations (the
// second adds a route), clients of every kind running across the switch,
// none of which retries.

const handoverGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [shop.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop.example.com]
    tls: {mode: SIMPLE, credentialName: shop-cert}
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [shop-gw]
  tcp:
  - route: [{destination: {host: echo.shop.svc.cluster.local, port: {number: 9000}}}]
`

// handoverRoutes is the HTTP VirtualService, with /new routed to the new
// backend when withNew.
func handoverRoutes(withNew bool) string {
	extra := ""
	if withNew {
		extra = "  - match: [{uri: {prefix: /new}}]\n    route: [{destination: {host: new}}]\n"
	}
	return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match: [{uri: {prefix: /slow}}]
    route: [{destination: {host: slow}}]
` + extra + `  - route: [{destination: {host: web}}]
`
}

// tcpEchoBackend is a TCP server that echoes each connection and passes the
// client's half-close back.
func tcpEchoBackend(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func tcpEntry(name, host string, port int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: %s, namespace: shop}
spec:
  hosts: [%s]
  ports: [{number: 9000, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {tcp: %d}}]
`, name, host, port)
}

// load runs the clients and keeps the score.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	failures []string
	// ok counts successes by client kind; after counts those after the
	// old process exited.
	ok, after map[string]int
	switched  atomic.Bool
	maxWait   time.Duration
	maxKind   string
	replays   int // HTTP/2 requests the client replayed after a GOAWAY
}

func (l *load) fail(kind string, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, kind+": "+fmt.Sprintf(format, args...))
}

func (l *load) done(kind string, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ok[kind]++
	if l.switched.Load() {
		l.after[kind]++
	}
	if wait > l.maxWait {
		l.maxWait, l.maxKind = wait, kind
	}
}

func (l *load) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok[kind]
}

// from reports whether body is from backend: "web|new" is web until the
// old process has exited, new after.
func (l *load) from(body, backend string) bool {
	old, newer, changes := strings.Cut(backend, "|")
	if changes && l.switched.Load() {
		return strings.HasPrefix(body, newer+" ")
	}
	return strings.HasPrefix(body, old+" ") || changes && strings.HasPrefix(body, newer+" ")
}

// run calls one until the load stops or one fails.
func (l *load) run(one func() error) {
	l.wg.Go(func() {
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			if one() != nil {
				return
			}
		}
	})
}

// httpClient sends GETs for path and checks the backend that answers. A
// request the transport sent twice (a retry) is a failure for HTTP/1.1;
// HTTP/2 replays a request a GOAWAY refused unprocessed (RFC 9113 section
// 6.8), which is counted, not failed.
func (l *load) httpClient(kind string, c *http.Client, url, path, backend string, proto int) func() error {
	return func() error {
		var conns int
		var first time.Time
		trace := &httptrace.ClientTrace{
			GotConn:              func(httptrace.GotConnInfo) { conns++ },
			GotFirstResponseByte: func() { first = time.Now() },
		}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url+path, nil)
		req.Host = "shop.example.com"
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			l.fail(kind, "GET %s: %v", path, err)
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			l.fail(kind, "GET %s: reading the body: %v", path, err)
		case resp.StatusCode != 200 || !l.from(string(body), backend):
			err = fmt.Errorf("GET %s: %d %q, want 200 from %s", path, resp.StatusCode, body, backend)
			l.fail(kind, "%v", err)
		case resp.ProtoMajor != proto:
			err = fmt.Errorf("GET %s over %s, want HTTP/%d", path, resp.Proto, proto)
			l.fail(kind, "%v", err)
		case conns > 1 && proto == 1:
			err = fmt.Errorf("GET %s: the client retried (%d connections)", path, conns)
			l.fail(kind, "%v", err)
		}
		if err != nil {
			return err
		}
		if conns > 1 {
			l.mu.Lock()
			l.replays++
			l.mu.Unlock()
		}
		l.done(kind, first.Sub(start))
		return nil
	}
}

// tcpClient opens a connection, sends ten lines a few milliseconds apart,
// reads each echo, half-closes and reads the end.
func (l *load) tcpClient(addr string) func() error {
	return func() error {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			l.fail("tcp", "dial: %v", err)
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var wait time.Duration
		for i := range 10 {
			msg := fmt.Sprintf("line %d\n", i)
			if _, err := io.WriteString(c, msg); err != nil {
				l.fail("tcp", "write: %v", err)
				return err
			}
			got, err := br.ReadString('\n')
			if err != nil || got != msg {
				l.fail("tcp", "echo of %q: %q %v", msg, got, err)
				return fmt.Errorf("echo")
			}
			if i == 0 {
				wait = time.Since(start)
			}
			time.Sleep(3 * time.Millisecond)
		}
		c.(*net.TCPConn).CloseWrite()
		if rest, err := br.ReadString('\n'); err != io.EOF || rest != "" {
			l.fail("tcp", "after the half-close: %q %v, want EOF", rest, err)
			return fmt.Errorf("eof")
		}
		l.done("tcp", wait)
		return nil
	}
}

func TestHandoverEndToEnd(t *testing.T) {
	_, web := backend(t, "web", 0)
	_, newer := backend(t, "new", 0)
	arrived := make(chan struct{}, 16)
	slowLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slowSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(time.Second)
		fmt.Fprint(w, "slow done")
	})}
	go slowSrv.Serve(slowLn)
	t.Cleanup(func() { slowSrv.Close() })
	entries := staticEntry("web", "web.shop.svc.cluster.local", web) + "---\n" +
		staticEntry("new", "new.shop.svc.cluster.local", newer) + "---\n" +
		staticEntry("slow", "slow.shop.svc.cluster.local", slowLn.Addr().(*net.TCPAddr).Port) + "---\n" +
		tcpEntry("echo", "echo.shop.svc.cluster.local", tcpEchoBackend(t))
	oldBin := buildIngress(t, map[string]string{"gateway.yaml": handoverGateway, "vs.yaml": handoverRoutes(false), "se.yaml": entries})
	newBin := buildIngress(t, map[string]string{"gateway.yaml": handoverGateway, "vs.yaml": handoverRoutes(true), "se.yaml": entries})

	ca := testcerts.NewCA(t, "handover CA")
	creds := t.TempDir()
	testcerts.WriteCredential(t, creds, "shop-cert", ca.Server(t, "shop.example.com"), nil)
	sock := filepath.Join(t.TempDir(), "ingress.sock")
	old := startIngressWith(t, oldBin, []string{"--credentials-dir", creds, "--handover-socket", sock}, 80, 443, 31400)
	plain, tlsAddr := old.url(80), strings.TrimPrefix(old.url(443), "http://")
	tcpAddr := strings.TrimPrefix(old.url(31400), "http://")

	l := &load{stop: make(chan struct{}), ok: map[string]int{}, after: map[string]int{}}
	tlsTransport := func(keepAlive bool) *http.Transport {
		return &http.Transport{
			DisableKeepAlives: !keepAlive,
			TLSClientConfig:   &tls.Config{ServerName: "shop.example.com", RootCAs: ca.Pool()},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
			},
		}
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	kinds := map[string]func() error{
		"http/1.1 keep-alive":       l.httpClient("http/1.1 keep-alive", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}, plain, "/", "web", 1),
		"http/1.1 keep-alive, /new": l.httpClient("http/1.1 keep-alive, /new", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}, plain, "/new", "web|new", 1),
		"new connections":           l.httpClient("new connections", &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, plain, "/", "web", 1),
		"http/2":                    l.httpClient("http/2", &http.Client{Transport: &http.Transport{Protocols: &h2c}}, plain, "/", "web", 2),
		"tls keep-alive":            l.httpClient("tls keep-alive", &http.Client{Transport: tlsTransport(true)}, "https://shop.example.com", "/", "web", 1),
		"tls new connections":       l.httpClient("tls new connections", &http.Client{Transport: tlsTransport(false)}, "https://shop.example.com", "/", "web", 1),
		"tcp":                       l.tcpClient(tcpAddr),
	}
	for _, one := range kinds {
		l.run(one)
	}
	defer func() {
		select {
		case <-l.stop:
		default:
			close(l.stop)
		}
		l.wg.Wait()
	}()
	waitCounts := func(m func(kind string) int, what string) {
		t.Helper()
		for range 1000 {
			ready := true
			for kind := range kinds {
				ready = ready && m(kind) >= 5
			}
			if ready {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("the clients did not get going %s: %v; failures: %q", what, l.ok, l.failures)
	}
	waitCounts(l.count, "before the handover")

	// A request in flight on the old process across the handover.
	inflight := make(chan error, 1)
	go func() {
		status, body := 0, ""
		req, _ := http.NewRequest("GET", plain+"/slow", nil)
		req.Host = "shop.example.com"
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		}
		if err == nil && (status != 200 || body != "slow done") {
			err = fmt.Errorf("%d %q", status, body)
		}
		inflight <- err
	}()
	<-arrived

	start := time.Now()
	next := startIngressWith(t, newBin, []string{"--credentials-dir", creds, "--takeover", sock}, 80, 443, 31400)
	ready := time.Since(start)
	select {
	case <-old.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the old process did not exit after the handover:\n%s", old.logs())
	}
	took := time.Since(start)
	l.switched.Store(true)
	if old.err != nil {
		t.Errorf("old process: %v, want exit status 0\n%s", old.err, old.logs())
	}
	for _, p := range []int{80, 443, 31400} {
		if next.url(p) != old.url(p) {
			t.Errorf("port %d: the new process serves %s, the old one served %s", p, next.url(p), old.url(p))
		}
	}
	if err := <-inflight; err != nil {
		t.Errorf("the request in flight on the old process: %v", err)
	}
	// New requests see the new route; the load goes on against the new
	// process.
	if status, body := get(t, &http.Client{}, plain+"/new/x", "shop.example.com"); status != 200 || !strings.HasPrefix(body, "new ") {
		t.Errorf("the new route after the handover: %d %q", status, body)
	}
	after := func(kind string) int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.after[kind]
	}
	waitCounts(after, "after the handover")
	close(l.stop)
	l.wg.Wait()
	for _, f := range l.failures {
		t.Errorf("failed across the handover: %s", f)
	}
	if l.maxWait > time.Second {
		t.Errorf("a client (%s) waited %v for its first byte, want at most 1s", l.maxKind, l.maxWait)
	}
	for _, want := range []string{`msg="handing over"`, `msg="draining after a handover"`, "msg=stopped"} {
		if !strings.Contains(old.logs(), want) {
			t.Errorf("old process log lacks %q", want)
		}
	}
	if !strings.Contains(next.logs(), `msg="took over; the old ingress drains"`) {
		t.Errorf("new process log lacks the handover:\n%s", next.logs())
	}
	t.Logf("handover: new process ready after %v, old process exited %v after the new one started (in-flight request of 1s included)", ready.Round(time.Millisecond), took.Round(time.Millisecond))
	t.Logf("requests: %v (after the switch: %v); longest wait for a first byte %v (%s); HTTP/2 replays after GOAWAY %d",
		l.ok, l.after, l.maxWait.Round(time.Millisecond), l.maxKind, l.replays)
}

// TestTakeoverPermissionDenied: a user other than the running ingress's
// cannot take its sockets (the handover socket is mode 0600); the new
// binary says so and exits 1, the old one serves on.
func TestTakeoverPermissionDenied(t *testing.T) {
	_, web := backend(t, "web", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("web", "web.shop.svc.cluster.local", web),
		"vs.yaml":      shopRoute("web"),
	})
	dir := t.TempDir()
	sock := filepath.Join(dir, "ingress.sock")
	old := startIngressWith(t, bin, []string{"--handover-socket", sock}, 80)
	cmd := exec.Command(bin, "--takeover", sock, "--listen", "80=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
	if os.Geteuid() == 0 {
		// Root passes any mode: the new binary runs as nobody, and may
		// reach the socket and its own file.
		for _, d := range []string{dir, filepath.Dir(dir), filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else {
		// The same user: take the permission away for the test.
		if err := os.Chmod(sock, 0); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(sock, 0o600)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "permission denied; the socket is mode 0600") {
		t.Errorf("takeover without permission: %v\n%s", err, out)
	}
	if status, body := get(t, &http.Client{}, old.url(80)+"/", "shop.example.com"); status != 200 || !strings.HasPrefix(body, "web ") {
		t.Errorf("the old binary after the refused takeover: %d %q", status, body)
	}
}
