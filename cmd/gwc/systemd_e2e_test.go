package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// systemdStart runs bin as systemd starts a socket-activated service: the
// listening sockets as file descriptors 3, 4, ..., LISTEN_FDS and
// LISTEN_FDNAMES naming them, and LISTEN_PID the service's own pid (which
// the shell knows just before it executes the binary).
func systemdStart(t *testing.T, bin string, names []string, files []*os.File, flags ...string) *ingress {
	t.Helper()
	script := fmt.Sprintf(`export LISTEN_PID=$$ LISTEN_FDS=%d LISTEN_FDNAMES=%s; exec "$0" "$@"`, len(files), strings.Join(names, ":"))
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, bin}, flags...)...)
	cmd.ExtraFiles = files
	return runIngress(t, cmd)
}

// TestSystemdSocketActivation runs the binary on sockets systemd would
// hold (here the test holds them), matched to Gateway ports by name, and
// restarts it as systemctl restart does: a client that connects while no
// process runs waits in the socket's queue and is answered by the next
// process; none is refused.
func TestSystemdSocketActivation(t *testing.T) {
	_, web := backend(t, "web", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("web", "web.shop.svc.cluster.local", web),
		"vs.yaml":      shopRoute("web"),
	})
	var files []*os.File
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // f holds the socket, as systemd does
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
		addrs = append(addrs, ln.Addr().String())
	}
	names := []string{"status", "http-80"}
	// --status-addr keeps its default (:15021): the socket named status
	// is used whatever its address.
	flags := []string{"--admin-addr", "", "--drain-timeout", "5s"}
	first := systemdStart(t, bin, names, files, flags...)
	if got := strings.TrimPrefix(first.url(80), "http://"); got != addrs[1] {
		t.Fatalf("port 80 served on %s, want the inherited socket %s\n%s", got, addrs[1], first.logs())
	}
	if !strings.Contains(first.logs(), `msg="listener bound" port=80 addr=`+addrs[1]+" from=systemd") ||
		!strings.Contains(first.logs(), `msg="status server bound" addr=`+addrs[0]+" from=systemd") {
		t.Errorf("the log does not say the sockets came from systemd:\n%s", first.logs())
	}
	if status, body := get(t, &http.Client{}, "http://"+addrs[1]+"/", "shop.example.com"); status != 200 || !strings.HasPrefix(body, "web ") {
		t.Errorf("through the systemd socket: %d %q", status, body)
	}
	if code := readiness(t, addrs[0]); code != 200 {
		t.Errorf("readiness on the systemd status socket: %d, want 200", code)
	}

	// The restart: stop, a client connects, start.
	first.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-first.exited:
		if first.err != nil {
			t.Errorf("first process: %v, want exit 0", first.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the first process did not exit")
	}
	c, err := net.Dial("tcp", addrs[1])
	if err != nil {
		t.Fatalf("between the two processes the socket refused a connection: %v", err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n")
	systemdStart(t, bin, names, files, flags...)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 ") || !strings.Contains(string(b), "web GET /") {
		t.Errorf("the connection made between the processes: %q %v, want the second process's 200", b, err)
	}
}

func readiness(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
