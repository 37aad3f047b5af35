package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gwc-dev/gwc/internal/deadport"
)

// The helpers below build real ingress binaries with the real `gwc build`
// (in-process run, real go build) and start them on loopback.

// buildIngress compiles the resources in files (name -> YAML) and returns
// the binary's path.
func buildIngress(t *testing.T, files map[string]string) string {
	t.Helper()
	return buildIngressWith(t, nil, files)
}

// buildIngressWith is buildIngress with more gwc build flags.
func buildIngressWith(t *testing.T, flags []string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return buildWith(t, flags, dir)
}

// buildPaths builds args (paths, after any gwc build flags).
func buildPaths(t *testing.T, args ...string) string {
	t.Helper()
	return buildWith(t, nil, args...)
}

// buildWith is buildPaths with more gwc build flags.
func buildWith(t *testing.T, flags []string, paths ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ingress")
	var stdout, stderr bytes.Buffer
	args := append(append([]string{"build", "-o", bin}, flags...), paths...)
	if code := run(args, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gwc build exited %d:\n%s", code, stderr.String())
	}
	return bin
}

// ingress is a running ingress binary.
type ingress struct {
	cmd    *exec.Cmd
	ports  map[int]string // Gateway port -> bound address
	status string
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit error, once exited is closed
}

var (
	listenerRE = regexp.MustCompile(`msg="listener bound" port=(\d+) addr=(\S+)`)
	statusRE   = regexp.MustCompile(`msg="status server bound" addr=(\S+)`)
)

// startIngress runs bin with every Gateway port on 127.0.0.1:0 and waits
// until it says it is ready.
func startIngress(t *testing.T, bin string, gatewayPorts ...int) *ingress {
	t.Helper()
	return startIngressWith(t, bin, nil, gatewayPorts...)
}

// startIngressWith is startIngress with more flags for the binary.
func startIngressWith(t *testing.T, bin string, flags []string, gatewayPorts ...int) *ingress {
	t.Helper()
	return startIngressEnv(t, bin, nil, flags, gatewayPorts...)
}

// startIngressEnv is startIngressWith with variables added to the
// binary's environment ("NAME=value").
func startIngressEnv(t *testing.T, bin string, env, flags []string, gatewayPorts ...int) *ingress {
	t.Helper()
	args := []string{"--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--drain-timeout", "10s"}
	args = append(args, flags...)
	for _, p := range gatewayPorts {
		args = append(args, "--listen", fmt.Sprintf("%d=127.0.0.1:0", p))
	}
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	return runIngress(t, cmd)
}

// runIngress starts cmd, an ingress binary with its flags (or a command
// that executes one), and waits until it says it is ready.
func runIngress(t *testing.T, cmd *exec.Cmd) *ingress {
	t.Helper()
	in := &ingress{cmd: cmd, ports: map[int]string{}, exited: make(chan struct{})}
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			in.mu.Lock()
			in.log.WriteString(line + "\n")
			if m := listenerRE.FindStringSubmatch(line); m != nil {
				p, _ := strconv.Atoi(m[1])
				in.ports[p] = m[2]
			}
			if m := statusRE.FindStringSubmatch(line); m != nil {
				in.status = m[1]
			}
			in.mu.Unlock()
			if strings.Contains(line, "msg=ready") && !signalled {
				signalled = true
				close(ready)
			}
		}
		in.err = in.cmd.Wait()
		close(in.exited)
	}()
	select {
	case <-ready:
	case <-in.exited:
		t.Fatalf("ingress exited before ready: %v\n%s", in.err, in.logs())
	case <-time.After(20 * time.Second):
		in.cmd.Process.Kill()
		t.Fatalf("ingress not ready after 20s:\n%s", in.logs())
	}
	t.Cleanup(func() {
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(15 * time.Second):
			in.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("ingress log:\n%s", in.logs())
		}
	})
	return in
}

func (in *ingress) logs() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.log.String()
}

// url is the base URL of the listener for a Gateway port.
func (in *ingress) url(port int) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return "http://" + in.ports[port]
}

// get sends a request with the given Host and returns status and body.
func get(t *testing.T, client *http.Client, url, host string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// backend is a real HTTP server on loopback that answers with its name.
func backend(t *testing.T, name string, delay time.Duration) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s %s xff=%s xfp=%s rid=%t", name, r.Method, r.URL.RequestURI(),
			r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Request-Id") != "")
		// Then every header the backend received, "Name: value" each on
		// its own line, sorted.
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			fmt.Fprintf(w, "\n%s: %s", k, strings.Join(r.Header[k], ","))
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

// closedPort returns a loopback port with nothing listening on it, kept
// so until the test ends.
func closedPort(t *testing.T) int {
	t.Helper()
	return deadport.Reserve(t)
}

// freePort returns a loopback port free at the moment, for a backend
// process to listen on right away.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// staticEntry is a ServiceEntry giving host one STATIC endpoint per port.
func staticEntry(name, host string, ports ...int) string {
	var eps strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&eps, "  - address: 127.0.0.1\n    ports: {http: %d}\n", p)
	}
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: %s, namespace: shop}
spec:
  hosts: [%s]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
%s`, name, host, eps.String())
}

// shopRoute is a VirtualService sending every request for shop.example.com
// on shop-gw to host.
func shopRoute(host string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - route: [{destination: {host: %s}}]
`, host)
}

// scrape reads the ingress's /stats/prometheus with the Prometheus text
// parser.
func (in *ingress) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
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
	return mfs
}

// settledCounts is requestCounts once n requests are counted: a client
// gets its response before the exchange is recorded, so a scrape right
// after the last response may miss it.
func (in *ingress) settledCounts(t *testing.T, n float64) map[string]float64 {
	t.Helper()
	var counts map[string]float64
	waitFor(t, func() bool {
		counts = requestCounts(in.scrape(t))
		total := 0.0
		for _, c := range counts {
			total += c
		}
		return total >= n
	}, fmt.Sprintf("%v requests counted in istio_requests_total", n))
	return counts
}

// requestCounts sums istio_requests_total by "code flags", e.g. "404 NR".
func requestCounts(mfs map[string]*dto.MetricFamily) map[string]float64 {
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
	return counts
}
