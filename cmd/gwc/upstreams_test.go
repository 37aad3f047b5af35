package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpstreamsExample builds examples/upstreams (with its backend ports
// moved to free ones), runs three real demo-backend processes as the
// ServiceEntry's endpoints, and checks subsets, weights, consistent hash,
// and that killing a backend process mid-test costs the clients nothing.
func TestUpstreamsExample(t *testing.T) {
	demo := filepath.Join(t.TempDir(), "demo-backend")
	if out, err := exec.Command("go", "build", "-o", demo, "../../examples/demo-backend").CombinedOutput(); err != nil {
		t.Fatalf("building the demo backend: %v\n%s", err, out)
	}
	names := []string{"v1-a", "v1-b", "v2"}
	procs := map[string]*exec.Cmd{}
	dir := t.TempDir()
	replace := []string{}
	for i, name := range names {
		port := freePort(t)
		cmd := exec.Command(demo, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", name)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		procs[name] = cmd
		waitListening(t, port)
		replace = append(replace, fmt.Sprintf("{http: %d}", 9081+i), fmt.Sprintf("{http: %d}", port))
	}
	files, _ := filepath.Glob("../../examples/upstreams/*.yaml")
	if len(files) != 4 {
		t.Fatalf("examples/upstreams has %d YAML files, want 4", len(files))
	}
	r := strings.NewReplacer(replace...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(r.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := startIngress(t, buildPaths(t, dir), 80)
	c := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	service := func(header ...string) string {
		t.Helper()
		status, body := get(t, c, in.url(80)+"/reviews", "reviews.example.com", header...)
		var seen struct{ Service string }
		if status != 200 || json.Unmarshal([]byte(body), &seen) != nil {
			t.Fatalf("status %d %q", status, body)
		}
		return seen.Service
	}

	// The v1 subset: round robin by weight 1:2 over the v1 endpoints only.
	counts := map[string]int{}
	for range 30 {
		counts[service()]++
	}
	if counts["v1-a"] != 10 || counts["v1-b"] != 20 {
		t.Errorf("30 requests to subset v1 went %v, want v1-a 10 and v1-b 20", counts)
	}
	// The canary header selects subset v2; its consistent hash keeps users.
	for _, user := range []string{"ann", "bob", "cy"} {
		for range 3 {
			if got := service("x-canary", "true", "x-user", user); got != "v2" {
				t.Fatalf("canary request for %s went to %s", user, got)
			}
		}
	}

	// Kill one v1 process mid-test: connect failures are retried on the
	// other endpoint, so every client still gets 200.
	procs["v1-a"].Process.Kill()
	procs["v1-a"].Wait()
	for i := range 20 {
		if got := service(); got != "v1-b" {
			t.Fatalf("request %d after the kill went to %s", i, got)
		}
	}
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if i == 100 {
			t.Fatalf("backend not listening on %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
