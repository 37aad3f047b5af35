//go:build unix

package runtime

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Main, in a child process, drains and exits 0 on SIGTERM.
func TestMainDrainsOnSIGTERM(t *testing.T) {
	if os.Getenv("GWC_RUNTIME_TEST_CHILD") == "1" {
		cfg := oneRoute(t, []Cluster{{Name: "empty"}})
		os.Exit(Main(cfg, []string{"--listen", "80=127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--admin-addr", ""}))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainDrainsOnSIGTERM$")
	cmd.Env = append(os.Environ(), "GWC_RUNTIME_TEST_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	ready := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "msg=ready") && !ready {
			ready = true
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (want exit 0)\n%s", err, log.String())
	}
	if !ready || !strings.Contains(log.String(), "msg=draining") || !strings.Contains(log.String(), "msg=stopped") {
		t.Errorf("child did not start, drain and stop:\n%s", log.String())
	}
}

// A second SIGTERM, or a SIGINT, during the drain does not cut the request
// in flight: it finishes and the process exits 0.
func TestMainSecondSignalKeepsDraining(t *testing.T) {
	if addr := os.Getenv("GWC_RUNTIME_TEST_BACKEND"); addr != "" {
		cfg := oneRoute(t, []Cluster{staticCluster("slow", addr)})
		os.Exit(Main(cfg, []string{"--listen", "80=127.0.0.1:0", "--status-addr", "127.0.0.1:0", "--admin-addr", "", "--drain-timeout", "20s"}))
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		io.WriteString(w, "finished")
	}))
	defer slow.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainSecondSignalKeepsDraining$")
	cmd.Env = append(os.Environ(), "GWC_RUNTIME_TEST_BACKEND="+slow.Listener.Addr().String())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer kill.Stop()
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	var addr string
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := boundRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[2]
		}
		if strings.Contains(sc.Text(), "msg=ready") {
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = "a.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{string(b), err}
	}()
	time.Sleep(300 * time.Millisecond) // the request reaches the backend
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGTERM, os.Interrupt} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := <-done; r.err != nil || r.body != "finished" {
		t.Errorf("request in flight: %q, %v; want it finished", r.body, r.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v (want exit 0)\n%s", err, log.String())
	}
}
