package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	in.mu.Lock()
	status := in.status
	in.mu.Unlock()
	resp, err := http.Get("http://" + status + "/stats/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	counts := map[string]float64{}
	for _, m := range mfs["istio_requests_total"].GetMetric() {
		var code, flags string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "response_code":
				code = l.GetValue()
			case "response_flags":
				flags = l.GetValue()
			}
		}
		counts[code+" "+flags] += m.GetCounter().GetValue()
	}
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
