package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMetricsScrapeOfBinary scrapes a built ingress after a known sequence
// of requests and checks Istio's metric names and counts, parsed with the
// Prometheus text parser.
func TestMetricsScrapeOfBinary(t *testing.T) {
	_, port := backend(t, "A", 0)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":      shopRoute("a"),
	})
	in := startIngress(t, bin, 80)
	c := &http.Client{}
	for range 3 {
		if code, _ := get(t, c, in.url(80)+"/", "shop.example.com"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if code, _ := get(t, c, in.url(80)+"/", "nowhere.example.com"); code != 404 {
		t.Fatalf("unknown host: status %d", code)
	}
	mfs := in.scrape(t)
	counts := requestCounts(mfs)
	if counts["200 -"] != 3 || counts["404 NR"] != 1 || len(counts) != 2 {
		t.Errorf("istio_requests_total by code and flags: %v, want 3×200 and 1×404 NR", counts)
	}
	for _, name := range []string{"istio_request_duration_milliseconds", "istio_request_bytes", "istio_response_bytes", "go_goroutines"} {
		if mfs[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
}

// TestDrainUnderLoad runs keep-alive load through the binary while it gets
// SIGTERM: every request must succeed, except new connections refused once
// the listener has closed.
func TestDrainUnderLoad(t *testing.T) {
	_, port := backend(t, "A", 5*time.Millisecond)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":      shopRoute("a"),
	})
	in := startIngress(t, bin, 80)
	url := in.url(80) + "/"
	const workers, perWorker = 4, 500
	var (
		done     atomic.Int64
		refused  atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for i := range perWorker {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s?w=%d&i=%d", url, w, i), nil)
				req.Host = "shop.example.com"
				resp, err := c.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						refused.Add(1)
						return // the listener is gone: the drain is over
					}
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					mu.Lock()
					failures = append(failures, resp.Status)
					mu.Unlock()
				}
				done.Add(1)
			}
		})
	}
	// Signal once the load is well under way.
	for range 500 {
		if done.Load() >= 40 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, f := range failures {
		t.Errorf("request failed during drain: %s", f)
	}
	select {
	case <-in.exited:
		if in.err != nil {
			t.Errorf("ingress exited with %v, want status 0", in.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ingress did not exit after drain")
	}
	t.Logf("%d requests succeeded, %d workers stopped by a refused connection", done.Load(), refused.Load())
}

// TestCompressionAnnotationEndToEnd builds an ingress whose Gateway asks
// for compression (gzip at level 1) and checks a gzip response decodes to
// the original.
func TestCompressionAnnotationEndToEnd(t *testing.T) {
	doc := strings.Repeat(`{"item":"value","n":12345},`, 200)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	gw := strings.Replace(shopGateway, "metadata: {name: shop-gw, namespace: shop}",
		"metadata:\n  name: shop-gw\n  namespace: shop\n  annotations: {gwc.io/compression: \"zstd,gzip;level=1\"}", 1)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": gw,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", ln.Addr().(*net.TCPAddr).Port),
		"vs.yaml":      shopRoute("a"),
	})
	in := startIngress(t, bin, 80)
	req, _ := http.NewRequest("GET", in.url(80)+"/", nil)
	req.Host = "shop.example.com"
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != doc {
		t.Errorf("decoded %d bytes (%v), want the original %d", len(got), err, len(doc))
	}
}

// TestBodyLimitEndToEnd builds an ingress whose VirtualService caps the
// request body and checks a body over the cap gets 413, counted in
// istio_requests_total without a response flag, while one within passes.
func TestBodyLimitEndToEnd(t *testing.T) {
	_, port := backend(t, "A", 0)
	vs := strings.Replace(shopRoute("a"), "metadata: {name: shop, namespace: shop}",
		"metadata:\n  name: shop\n  namespace: shop\n  annotations: {gwc.io/max-request-body: \"1Ki\"}", 1)
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":      vs,
	})
	in := startIngress(t, bin, 80)
	post := func(n int) (int, string) {
		req, _ := http.NewRequest("POST", in.url(80)+"/", strings.NewReader(strings.Repeat("x", n)))
		req.Host = "shop.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(1024); code != 200 {
		t.Errorf("1 KiB body: %d %q, want 200", code, body)
	}
	if code, body := post(1025); code != 413 || body != "Payload Too Large" {
		t.Errorf("1 KiB + 1 body: %d %q, want 413 Payload Too Large", code, body)
	}
	if counts := requestCounts(in.scrape(t)); counts["200 -"] != 1 || counts["413 -"] != 1 || len(counts) != 2 {
		t.Errorf("istio_requests_total by code and flags: %v, want 1×200 and 1×413", counts)
	}
}

func TestBadCompressionAnnotationFailsBuild(t *testing.T) {
	dir := t.TempDir()
	gw := strings.Replace(shopGateway, "metadata: {name: shop-gw, namespace: shop}",
		"metadata:\n  name: shop-gw\n  namespace: shop\n  annotations: {gwc.io/compression: \"deflate\"}", 1)
	os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gw), 0o644)
	var stdout, stderr bytes.Buffer
	code := run([]string{"build", "-o", filepath.Join(dir, "ingress"), dir}, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `gateway.yaml:6:37: error GWC0309: Gateway shop/shop-gw: metadata.annotations["gwc.io/compression"]: annotation gwc.io/compression: unknown encoding "deflate"`) {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
}
