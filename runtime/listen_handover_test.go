//go:build unix

package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runFailing runs a gateway expected not to start and returns its exit
// status and log.
func runFailing(t *testing.T, cfg *Config, args ...string) (int, string) {
	t.Helper()
	logs := newLogSink()
	done := make(chan int, 1)
	go func() { done <- Run(context.Background(), cfg, args, logs) }()
	select {
	case code := <-done:
		return code, logs.String()
	case <-time.After(20 * time.Second):
		t.Fatalf("Run did not return:\n%s", logs.String())
		return -1, ""
	}
}

// exited waits for a gateway's Run to return by itself.
func (g *testGateway) exited(t *testing.T) int {
	t.Helper()
	select {
	case code := <-g.done:
		g.done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("Run did not return:\n%s", g.logs.String())
		return -1
	}
}

func backendOf(t *testing.T, g *testGateway) string {
	t.Helper()
	_, body := g.do(t, client(), 80, "GET", "h", "/", nil)
	return seenBy(t, body).Backend
}

// A takeover moves every socket (listener, status, admin, the handover
// socket itself) to the new process, which serves on the same addresses;
// the old one drains and returns 0; the new one hands over again.
func TestHandoverMovesEverySocket(t *testing.T) {
	a, b, c := backend(t, "A"), backend(t, "B"), backend(t, "C")
	sock := filepath.Join(t.TempDir(), "ingress.sock")
	old := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}), "--handover-socket", sock)
	if got := backendOf(t, old); got != "A" {
		t.Fatalf("before the handover: backend %q, want A", got)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("handover socket: %v, %v; want mode 0600", fi, err)
	}
	cfgB := oneRoute(t, []Cluster{staticCluster("b", hostPort(b))})
	cfgB.Digest = "digest-b"
	next := startGateway(t, cfgB, "--takeover", sock)
	if code := old.exited(t); code != 0 {
		t.Errorf("old process returned %d after the handover, want 0", code)
	}
	if next.addr[80] != old.addr[80] || next.status != old.status || next.admin != old.admin {
		t.Errorf("new process bound %v %s %s, want the old one's %v %s %s", next.addr, next.status, next.admin, old.addr, old.status, old.admin)
	}
	for _, want := range []string{`msg="handing over"`, "new_digest=digest-b", `msg="draining after a handover"`} {
		if !strings.Contains(old.logs.String(), want) {
			t.Errorf("old process log lacks %q:\n%s", want, old.logs.String())
		}
	}
	for _, want := range []string{`msg="taking over"`, "digest=digest-b", `msg="took over; the old ingress drains"`, "from=handover"} {
		if !strings.Contains(next.logs.String(), want) {
			t.Errorf("new process log lacks %q:\n%s", want, next.logs.String())
		}
	}
	if got := backendOf(t, next); got != "B" {
		t.Errorf("after the handover: backend %q, want B", got)
	}
	if code := readyStatus(t, next.status); code != 200 {
		t.Errorf("status after the handover: %d, want 200", code)
	}
	resp, err := client().Get("http://" + next.admin + "/server_info")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if h, _ := info["handover"].(map[string]any); info["digest"] != "digest-b" || h["socket"] != sock || h["protocol"] != float64(handoverProtocol) {
		t.Errorf("/server_info: digest %v, handover %v; want digest-b and the socket", info["digest"], info["handover"])
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("handover socket gone after the handover: %v", err)
	}

	// The new process serves the next handover on the same path.
	last := startGateway(t, oneRoute(t, []Cluster{staticCluster("c", hostPort(c))}), "--takeover", sock)
	if code := next.exited(t); code != 0 {
		t.Errorf("second handover: old process returned %d, want 0", code)
	}
	if got := backendOf(t, last); got != "C" {
		t.Errorf("after the second handover: backend %q, want C", got)
	}
	if m := scrapeAdmin(t, last.admin); !strings.Contains(m, `gwc_handovers_total{result="ok",role="taken_over"} 1`) {
		t.Errorf("handover metric missing:\n%s", m)
	}
	if last.stop(t) != 0 {
		t.Error("last process did not exit 0")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("handover socket left after the last process stopped: %v", err)
	}
}

func scrapeAdmin(t *testing.T, admin string) string {
	t.Helper()
	resp, err := client().Get("http://" + admin + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// A new process whose ports differ binds the new ones itself; one that
// cannot start leaves the old one serving, untouched, and able to hand
// over later.
func TestHandoverFailureLeavesOldServing(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	sock := filepath.Join(t.TempDir(), "ingress.sock")
	old := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}), "--handover-socket", sock)

	// Port 81 is new and its address is taken: the new process fails.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	two := func(backend string) *Config {
		cfg := oneRoute(t, []Cluster{staticCluster("b", backend)})
		l81 := cfg.Listeners[0]
		l81.Port = 81
		cfg.Listeners = append(cfg.Listeners, l81)
		return cfg
	}
	args := []string{"--takeover", sock, "--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--listen", "80=127.0.0.1:0", "--listen", "81=" + busy.Addr().String()}
	code, logs := runFailing(t, two(hostPort(b)), args...)
	if code != 1 || !strings.Contains(logs, "binding listener for port 81") {
		t.Errorf("new process with a busy port: exit %d, want 1 naming port 81:\n%s", code, logs)
	}
	old.logs.waitFor(t, `msg="handover aborted: the new ingress failed; still serving"`)
	if got := backendOf(t, old); got != "A" {
		t.Errorf("old process after the failed handover: backend %q, want A", got)
	}
	if code := readyStatus(t, old.status); code != 200 {
		t.Errorf("old process after the failed handover: ready %d, want 200", code)
	}

	// The same ports, one new: port 81 is bound by the new process.
	next := startGateway(t, two(hostPort(b)), "--takeover", sock)
	if old.exited(t) != 0 {
		t.Error("old process did not exit 0")
	}
	if next.addr[80] != old.addr[80] || next.addr[81] == "" {
		t.Errorf("new process: ports %v, want 80 on %s and 81 bound", next.addr, old.addr[80])
	}
	for _, p := range []int{80, 81} {
		_, body := next.do(t, client(), p, "GET", "h", "/", nil)
		if got := seenBy(t, body).Backend; got != "B" {
			t.Errorf("port %d after the handover: backend %q, want B", p, got)
		}
	}
}

// Bad input: no socket, a file that is not one, a process that is not a
// gwc ingress, an incompatible protocol, a second ingress on a live socket.
func TestHandoverBadInput(t *testing.T) {
	dir := t.TempDir()
	a := backend(t, "A")
	cfg := func() *Config { return oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}) }
	args := func(extra ...string) []string {
		return append([]string{"--status-addr", "127.0.0.1:0", "--admin-addr", "", "--listen", "80=127.0.0.1:0"}, extra...)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	// A Unix socket served by something else: it answers a line of its own.
	other := filepath.Join(dir, "other.sock")
	ln, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// An ingress of a future release: protocol 99.
	future := filepath.Join(dir, "future.sock")
	fln, err := net.Listen("unix", future)
	if err != nil {
		t.Fatal(err)
	}
	defer fln.Close()
	answer := func(ln net.Listener, reply string) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte(reply))
			c.Close()
		}
	}
	go answer(ln, "HTTP/1.0 400 Bad Request\r\n\r\n")
	go answer(fln, `{"protocol":99,"version":"v9","pid":1}`+"\n")

	for _, c := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.sock"), "no such socket; is the running ingress started with --handover-socket"},
		{plain, "no process listens there"},
		{other, "does not speak gwc's handover protocol"},
		{future, "speaks handover protocol 99, this binary 1"},
	} {
		code, logs := runFailing(t, cfg(), args("--takeover", c.path)...)
		if code != 1 || !strings.Contains(logs, c.want) {
			t.Errorf("--takeover %s: exit %d, want 1 with %q:\n%s", filepath.Base(c.path), code, c.want, logs)
		}
	}

	sock := filepath.Join(dir, "ingress.sock")
	old := startGateway(t, cfg(), "--handover-socket", sock)
	code, logs := runFailing(t, cfg(), args("--handover-socket", sock)...)
	if code != 1 || !strings.Contains(logs, "another ingress serves handovers there; start this one with --takeover") {
		t.Errorf("a second ingress on a live handover socket: exit %d:\n%s", code, logs)
	}
	// A successor of an incompatible protocol is refused; the old one
	// goes on.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"protocol":2,"pid":7}` + "\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.Contains(line, `"error":"handover protocol 2, this ingress speaks 1"`) {
		t.Errorf("old process's answer to protocol 2: %q", line)
	}
	if got := backendOf(t, old); got != "A" || readyStatus(t, old.status) != 200 {
		t.Errorf("old process after refusing: backend %q", got)
	}
	if old.stop(t) != 0 {
		t.Error("old process did not exit 0")
	}
	// A socket file left by an exited process is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	fresh := startGateway(t, cfg(), "--handover-socket", sock)
	if !strings.Contains(fresh.logs.String(), "replacing a stale handover socket") {
		t.Errorf("stale socket not replaced:\n%s", fresh.logs.String())
	}
}

// A port the new configuration no longer has stays the old process's: it
// serves it until the ports the new process took have drained (here a
// request held in flight on port 80), then closes it; a new process
// serving handovers elsewhere leaves the old path to be removed.
func TestHandoverRemovedPort(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "A")
	}))
	t.Cleanup(a.Close)
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before a.Close, which waits for the request
	b := backend(t, "B")
	dir := t.TempDir()
	sock, sock2 := filepath.Join(dir, "one.sock"), filepath.Join(dir, "two.sock")
	cfgA := oneRoute(t, []Cluster{staticCluster("a", hostPort(a))})
	l81 := cfgA.Listeners[0]
	l81.Port = 81
	cfgA.Listeners = append(cfgA.Listeners, l81)
	old := startGateway(t, cfgA, "--handover-socket", sock)
	slow := make(chan string, 1)
	go func() {
		resp, err := client().Get("http://" + old.addr[80] + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	<-arrived
	next := startGateway(t, oneRoute(t, []Cluster{staticCluster("b", hostPort(b))}), "--takeover", sock, "--handover-socket", sock2)
	old.logs.waitFor(t, `msg="the new ingress does not serve some sockets; this one serves them until the rest has drained, then closes them" sockets=http-81,handover`)
	old.logs.waitFor(t, `msg="draining after a handover"`)
	if resp, body := old.do(t, client(), 81, "GET", "h", "/", nil); resp.StatusCode != 200 || body != "A" {
		t.Errorf("port 81 during the old process's drain: %d %q, want 200 from the old configuration", resp.StatusCode, body)
	}
	if got := backendOf(t, next); got != "B" {
		t.Errorf("port 80 after the handover: %q, want B", got)
	}
	unblock()
	if got := <-slow; got != "200 A" {
		t.Errorf("the request in flight on the old process: %s, want 200 A", got)
	}
	if old.exited(t) != 0 {
		t.Error("old process did not exit 0")
	}
	if c, err := net.Dial("tcp", old.addr[81]); err == nil {
		c.Close()
		t.Errorf("port 81, which the new configuration lacks, still accepts after the drain")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the old handover socket is left: %v", err)
	}
	if _, err := os.Stat(sock2); err != nil {
		t.Errorf("the new handover socket: %v", err)
	}
}

// A successor that receives the sockets and goes away before it is ready
// (killed, say) leaves the old process serving on them.
func TestHandoverSuccessorGoesAway(t *testing.T) {
	a := backend(t, "A")
	sock := filepath.Join(t.TempDir(), "ingress.sock")
	old := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}), "--handover-socket", sock)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"protocol":1,"pid":99}` + "\n"))
	rd := &fdReader{c: c.(*net.UnixConn)}
	line, fds, err := rd.read()
	if err != nil || len(fds) != 4 || !strings.Contains(string(line), `"name":"http-80"`) {
		t.Fatalf("handover answer: %q, %d descriptors, %v; want 4 sockets", line, len(fds), err)
	}
	for _, fd := range fds {
		os.NewFile(uintptr(fd), "").Close()
	}
	c.Close()
	old.logs.waitFor(t, `msg="handover aborted: the new ingress went away before it was ready; still serving"`)
	if got := backendOf(t, old); got != "A" || readyStatus(t, old.status) != 200 {
		t.Errorf("old process after its successor went away: backend %q", got)
	}
	if m := scrapeAdmin(t, old.admin); !strings.Contains(m, `gwc_handovers_total{result="aborted",role="handed_over"} 1`) {
		t.Errorf("aborted handover not counted:\n%s", m)
	}
}

// The readiness conditions gate serving: a fresh start answers 503 until
// they hold; a takeover leaves the old process serving (and answering its
// probes) until they hold, and untouched when one fails.
func TestReadinessConditions(t *testing.T) {
	a, b := backend(t, "A"), backend(t, "B")
	sock := filepath.Join(t.TempDir(), "ingress.sock")
	args := []string{"--listen", "80=127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--admin-addr", "", "--drain-timeout", "10s"}
	release := make(chan struct{})
	waitRelease := func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start := func(cfg *Config, cond func(context.Context) error, extra ...string) (*logSink, chan int, context.CancelFunc) {
		logs := newLogSink()
		done := make(chan int, 1)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			done <- run(ctx, cfg, append(append([]string{}, args...), extra...), logs, []func(context.Context) error{cond})
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("run did not return")
			}
		})
		return logs, done, cancel
	}

	// A fresh start: 503 until the condition holds.
	logs, odone, _ := start(oneRoute(t, []Cluster{staticCluster("a", hostPort(a))}), waitRelease, "--handover-socket", sock)
	status := logAddr(t, logs.waitFor(t, `msg="status server bound"`))
	if code := readyStatus(t, status); code != 503 {
		t.Errorf("before the condition holds: ready %d, want 503", code)
	}
	if strings.Contains(logs.String(), "msg=ready") {
		t.Errorf("ready before the condition holds:\n%s", logs.String())
	}
	close(release)
	logs.waitFor(t, "msg=ready")
	addr := logAddr(t, logs.waitFor(t, `msg="listener bound"`))
	old := &testGateway{addr: map[int]string{80: addr}, status: status, logs: logs}

	// A takeover whose condition fails: the old process never stops.
	failing := func(context.Context) error { return errors.New("the endpoints never synced") }
	nlogs, ndone, _ := start(oneRoute(t, []Cluster{staticCluster("b", hostPort(b))}), failing, "--takeover", sock)
	if code := <-ndone; code != 1 || !strings.Contains(nlogs.String(), "the endpoints never synced") {
		t.Errorf("a failing condition: exit %d, want 1:\n%s", code, nlogs.String())
	}
	ndone <- 1
	logs.waitFor(t, "not ready: the endpoints never synced")
	if got := backendOf(t, old); got != "A" || readyStatus(t, status) != 200 {
		t.Errorf("old process after the failed takeover: backend %q", got)
	}

	// A takeover waiting on its condition: the old process serves.
	hold := make(chan struct{})
	holding := func(ctx context.Context) error {
		select {
		case <-hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	nlogs, _, _ = start(oneRoute(t, []Cluster{staticCluster("b", hostPort(b))}), holding, "--takeover", sock)
	nlogs.waitFor(t, `msg="taking over"`)
	for range 20 {
		if got := backendOf(t, old); got != "A" || readyStatus(t, status) != 200 {
			t.Fatalf("while the new process is not ready: backend %q", got)
		}
	}
	close(hold)
	nlogs.waitFor(t, `msg="took over; the old ingress drains"`)
	select {
	case code := <-odone:
		odone <- code
		if code != 0 {
			t.Errorf("old process returned %d, want 0", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the old process did not return after the handover")
	}
	if got := backendOf(t, old); got != "B" {
		t.Errorf("after the new process became ready: backend %q, want B", got)
	}
}
