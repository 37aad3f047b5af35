package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// backend is an HTTP server on loopback: 100 bytes for any request, after
// 20 ms for /slow (the requests clients hang up on).
type backend struct {
	port int
	srv  *http.Server
	done chan struct{}
}

var body100 = bytes.Repeat([]byte("s"), 100)

func startBackend(addr string) (*backend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &backend{port: ln.Addr().(*net.TCPAddr).Port, done: make(chan struct{})}
	b.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				select {
				case <-time.After(20 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
			w.Header().Set("Content-Length", "100")
			w.Write(body100)
		}),
		IdleTimeout: time.Hour,
	}
	go func() {
		b.srv.Serve(ln)
		close(b.done)
	}()
	return b, nil
}

// close cuts every connection at once, as a killed process would.
func (b *backend) close() {
	b.srv.Close()
	<-b.done
}

// flaky is the backend that is closed and restarted on the same port.
type flaky struct {
	port int
	mu   sync.Mutex
	b    *backend
	quit chan struct{}
	once sync.Once
}

func newFlaky() (*flaky, error) {
	b, err := startBackend("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &flaky{port: b.port, b: b, quit: make(chan struct{})}, nil
}

// cycle closes the backend every period and restarts it a second later,
// until stop.
func (f *flaky) cycle(period time.Duration) {
	for {
		select {
		case <-f.quit:
			return
		case <-time.After(period):
		}
		f.mu.Lock()
		f.b.close()
		f.b = nil
		f.mu.Unlock()
		select {
		case <-f.quit:
			return
		case <-time.After(time.Second):
		}
		b, err := startBackend(fmt.Sprintf("127.0.0.1:%d", f.port))
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: restarting the flaky backend: %v\n", err)
			return
		}
		f.mu.Lock()
		f.b = b
		f.mu.Unlock()
	}
}

// stop ends the cycle and leaves the backend running, so the idle spell
// that follows sees no upstream go away.
func (f *flaky) stop() {
	f.once.Do(func() { close(f.quit) })
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.b == nil {
		if b, err := startBackend(fmt.Sprintf("127.0.0.1:%d", f.port)); err == nil {
			f.b = b
		}
	}
}

// writeCredential writes a self-signed certificate for soak.example.com in
// the layout of a Kubernetes TLS Secret and returns it for the clients.
func writeCredential(dir string) (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "soak.example.com"},
		DNSNames:     []string{"soak.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

const soakConfig = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: soak-gw, namespace: soak}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [soak.example.com]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [soak.example.com]
    tls: {mode: SIMPLE, credentialName: soak-cred}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: soak, namespace: soak}
spec:
  hosts: [soak.example.com]
  gateways: [soak-gw]
  http:
  - match: [{uri: {prefix: /flaky}}]
    route: [{destination: {host: flaky.soak.svc.cluster.local}}]
  - route: [{destination: {host: stable.soak.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: stable, namespace: soak}
spec:
  hosts: [stable.soak.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: flaky, namespace: soak}
spec:
  hosts: [flaky.soak.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
`

// buildIngress writes the soak's configuration and builds it with gwc.
func buildIngress(o options, stablePort, flakyPort int) (string, error) {
	cfg := filepath.Join(o.dir, "soak.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, soakConfig, stablePort, flakyPort), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(o.dir, "ingress")
	out, err := exec.Command(o.gwc, "build", "-o", bin, cfg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gwc build: %w\n%s", err, out)
	}
	return bin, nil
}

// ingress is the running binary under soak.
type ingress struct {
	cmd     *exec.Cmd
	logPath string
	http    string // bound addresses of Gateway ports 80 and 443
	https   string
	status  string
	exited  chan struct{}
}

var (
	boundRE  = regexp.MustCompile(`msg="listener bound" port=(\d+) addr=(\S+)`)
	statusRE = regexp.MustCompile(`msg="status server bound" addr=(\S+)`)
)

func startIngress(bin, creds, logPath string) (*ingress, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	in := &ingress{logPath: logPath, exited: make(chan struct{})}
	in.cmd = exec.Command(bin, "--credentials-dir", creds, "--status-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--drain-timeout", "5s", "--listen", "80=127.0.0.1:0", "--listen", "443=127.0.0.1:0")
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := in.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := boundRE.FindStringSubmatch(line); m != nil {
				if m[1] == "80" {
					in.http = m[2]
				} else {
					in.https = m[2]
				}
			}
			if m := statusRE.FindStringSubmatch(line); m != nil {
				in.status = m[1]
			}
			if strings.Contains(line, "msg=ready") {
				once.Do(func() { close(ready) })
			}
		}
		in.cmd.Wait()
		logf.Close()
		close(in.exited)
	}()
	select {
	case <-ready:
		return in, nil
	case <-in.exited:
		return nil, fmt.Errorf("the ingress exited before it was ready; its log: %s", logPath)
	case <-time.After(30 * time.Second):
		in.cmd.Process.Kill()
		return nil, fmt.Errorf("the ingress was not ready after 30s; its log: %s", logPath)
	}
}

func (in *ingress) stop() {
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(15 * time.Second):
		in.cmd.Process.Kill()
	}
}

// exitCode is the binary's exit status, or -1 while it runs.
func (in *ingress) exitCode() int {
	select {
	case <-in.exited:
		return in.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// sample is what the binary holds at one moment.
type sample struct {
	goroutines int
	fds        int
	rss        int64
}

func (s sample) max(o sample) sample {
	return sample{max(s.goroutines, o.goroutines), max(s.fds, o.fds), max(s.rss, o.rss)}
}

func (s sample) within(base sample) bool {
	return s.goroutines <= base.goroutines+slackGoroutines && s.fds <= base.fds+slackFDs && s.rss <= base.rss+slackRSS
}

// sample reads go_goroutines from the status port (on a connection of its
// own, closed before the fds are counted) and the fds and RSS from /proc.
func (in *ingress) sample() (sample, error) {
	var s sample
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + in.status + "/stats/prometheus")
	if err != nil {
		return s, fmt.Errorf("reading the ingress's metrics: %w", err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			s.goroutines = int(f)
		}
	}
	resp.Body.Close()
	if s.goroutines == 0 {
		return s, fmt.Errorf("no go_goroutines in the ingress's metrics")
	}
	pid := in.cmd.Process.Pid
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = kb << 10
		}
	}
	return s, nil
}

// tlsConfig trusts the soak's certificate.
func tlsConfig(cert *x509.Certificate, protos ...string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool, ServerName: "soak.example.com", NextProtos: protos}
}
