package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestCoolstoreExample builds ./examples/coolstore with the real gwc build, runs the
// real demo backend where the example's ServiceEntry says it is
// (127.0.0.1:9080), and replays the README's requests.
func TestCoolstoreExample(t *testing.T) {
	demo := filepath.Join(t.TempDir(), "demo-backend")
	if out, err := exec.Command("go", "build", "-o", demo, "../../examples/demo-backend").CombinedOutput(); err != nil {
		t.Fatalf("building the demo backend: %v\n%s", err, out)
	}
	lockDemoPorts(t)
	if ln, err := net.Listen("tcp", "127.0.0.1:9080"); err != nil {
		t.Fatalf("the example's ServiceEntry points at 127.0.0.1:9080, which is busy (is make demo running?): %v", err)
	} else {
		ln.Close()
	}
	backend := exec.Command(demo, "--addr", "127.0.0.1:9080")
	if err := backend.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Process.Kill(); backend.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:9080")
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("demo backend not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	in := startIngress(t, buildPaths(t, "../../examples/coolstore"), 80)

	status, body := get(t, http.DefaultClient, in.url(80)+"/api/catalog?page=2", "webapp.istioinaction.io")
	var seen struct {
		Service, Host, Path string
		Headers             map[string]string
	}
	if err := json.Unmarshal([]byte(body), &seen); err != nil || status != 200 {
		t.Fatalf("got %d %q (%v)", status, body, err)
	}
	if seen.Service != "webapp" || seen.Host != "webapp.istioinaction.io" || seen.Path != "/api/catalog?page=2" ||
		seen.Headers["X-Forwarded-Proto"] != "http" || seen.Headers["X-Request-Id"] == "" {
		t.Errorf("backend saw %+v", seen)
	}
	if status, _ := get(t, http.DefaultClient, in.url(80)+"/", "other.example.com"); status != 404 {
		t.Errorf("other host: got %d, want 404", status)
	}
}

// lockDemoPorts takes the lock examples/demo.sh takes: the example's ports
// are fixed, so the demo and this test, in any checkout, take turns.
func lockDemoPorts(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "gwc-demo-ports.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for i := 0; syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil; i++ {
		if i == 3000 {
			t.Fatal("the example's ports stayed locked for 5 minutes: is make demo running?")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
