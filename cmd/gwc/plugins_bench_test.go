package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPluginThroughput sends requests through a real ingress to a
// real backend, without a plugin and with the apikey example plugin in
// the path, from 1 and from 8 concurrent clients. It reports requests per second and
// the p50 and p99 latency of a request.
func BenchmarkPluginThroughput(b *testing.B) {
	dir := b.TempDir()
	apikey := buildPlugin(b, dir, "apikey", "../../examples/plugins/apikey")
	port := benchBackend(b)
	base := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
` + shopRoute("web.shop.svc.cluster.local") + "---\n" + staticEntry("web", "web.shop.svc.cluster.local", port)
	for _, bc := range []struct{ name, extra string }{
		{"none", ""},
		{"apikey", pluginResource("apikey", apikey, sha256File(b, apikey), "  pluginConfig: {keys: {alice: k-123}}\n")},
	} {
		url := benchIngress(b, base+bc.extra) + "/api"
		for _, workers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", bc.name, workers), func(b *testing.B) {
				if url == "" {
					url = benchIngress(b, base+bc.extra) + "/api"
				}
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
				var mu sync.Mutex
				var times []time.Duration
				next := make(chan struct{}, workers)
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range workers {
					wg.Go(func() {
						var mine []time.Duration
						for range next {
							req, _ := http.NewRequest("GET", url, nil)
							req.Host = "shop.example.com"
							req.Header.Set("X-Api-Key", "k-123")
							t0 := time.Now()
							resp, err := client.Do(req)
							if err != nil {
								b.Error(err)
								continue
							}
							resp.Body.Close()
							if resp.StatusCode != 200 {
								b.Errorf("status %d", resp.StatusCode)
							}
							mine = append(mine, time.Since(t0))
						}
						mu.Lock()
						times = append(times, mine...)
						mu.Unlock()
					})
				}
				for b.Loop() {
					next <- struct{}{}
				}
				close(next)
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(times)
				if n := len(times); n > 0 {
					b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
					b.ReportMetric(float64(times[n/2].Microseconds()), "p50-µs")
					b.ReportMetric(float64(times[n*99/100].Microseconds()), "p99-µs")
				}
			})
		}
	}
}

// benchBackend answers 200 with a short body.
func benchBackend(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// benchIngress builds config with gwc build, starts it and returns the
// base URL of its port 80 listener.
func benchIngress(b *testing.B, config string) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "ingress")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"build", "-o", bin, dir}, nil, &stdout, &stderr); code != 0 {
		b.Fatalf("gwc build exited %d:\n%s", code, stderr.String())
	}
	cmd := exec.Command(bin, "--listen", "80=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
	out, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	sc := bufio.NewScanner(out)
	addr := ""
	for sc.Scan() {
		if m := listenerRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[2]
		}
		if strings.Contains(sc.Text(), "msg=ready") {
			go io.Copy(io.Discard, out)
			return "http://" + addr
		}
	}
	b.Fatal("ingress exited before ready")
	return ""
}
