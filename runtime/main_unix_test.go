//go:build unix

package runtime

import (
	"bufio"
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
