package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// TestTLSEdge builds one ingress with three HTTPS servers on port 443
// (SIMPLE by credentialName, MUTUAL with a SAN check and the -cacert CA
// convention, OPTIONAL_MUTUAL from file paths with a pinned hash and TLS
// 1.3 only), an httpsRedirect HTTP server and a plaintext GRPC port, and
// drives it with Go's TLS, HTTP/2, gRPC and WebSocket clients, curl and
// openssl.
func TestTLSEdge(t *testing.T) {
	ca := testcerts.NewCA(t, "edge CA")
	other := testcerts.NewCA(t, "other CA")
	creds := t.TempDir()
	testcerts.WriteCredential(t, creds, "a-cred", ca.Server(t, "a.example.com", "grpc.example.com"), nil)
	testcerts.WriteCredential(t, creds, "b-cred", ca.Server(t, "*.b.example.com"), nil)
	testcerts.WriteCredential(t, creds, "b-cred-cacert", testcerts.Pair{CertPEM: ca.PEM, KeyPEM: nil}, nil)
	os.Remove(filepath.Join(creds, "b-cred-cacert", "tls.crt"))
	os.Remove(filepath.Join(creds, "b-cred-cacert", "tls.key"))
	testcerts.Write(t, filepath.Join(creds, "b-cred-cacert", "ca.crt"), ca.PEM)
	files := t.TempDir()
	cpair := ca.Server(t, "c.example.com")
	testcerts.Write(t, filepath.Join(files, "c.crt"), cpair.CertPEM)
	testcerts.Write(t, filepath.Join(files, "c.key"), cpair.KeyPEM)
	testcerts.Write(t, filepath.Join(files, "ca.crt"), ca.PEM)
	good := ca.Client(t, "good.client.example.com")
	wrongSAN := ca.Client(t, "bad.client.example.com")
	foreign := other.Client(t, "good.client.example.com")

	_, aPort := backend(t, "a", 0)
	_, bPort := backend(t, "b", 0)
	grpcPort, healthSrv := grpcBackend(t)
	wsPort := wsBackend(t)

	gw := fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  servers:
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.example.com, grpc.example.com]
    tls: {mode: SIMPLE, credentialName: a-cred}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: ["*.b.example.com"]
    tls: {mode: MUTUAL, credentialName: b-cred, subjectAltNames: [good.client.example.com]}
  - port: {number: 443, name: https-c, protocol: HTTPS}
    hosts: [c.example.com]
    tls:
      mode: OPTIONAL_MUTUAL
      serverCertificate: %[1]s/c.crt
      privateKey: %[1]s/c.key
      caCertificates: %[1]s/ca.crt
      verifyCertificateHash: [%[2]q]
      minProtocolVersion: TLSV1_3
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.example.com, redirect.example.com]
    tls: {httpsRedirect: true}
  - port: {number: 8080, name: grpc, protocol: GRPC}
    hosts: ["*"]
`, files, good.Hash())
	vs := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: edge}
spec:
  hosts: [a.example.com, c.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /ws}}]
    route: [{destination: {host: ws.internal}}]
  - route: [{destination: {host: a.internal}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: edge}
spec:
  hosts: ["*.b.example.com"]
  gateways: [gw]
  http:
  - route: [{destination: {host: b.internal}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: grpc, namespace: edge}
spec:
  hosts: [grpc.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: grpc.internal}}]
`
	se := strings.Join([]string{
		staticEntry("a", "a.internal", aPort), staticEntry("b", "b.internal", bPort), staticEntry("ws", "ws.internal", wsPort),
		fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: grpc, namespace: edge}
spec:
  hosts: [grpc.internal]
  ports: [{number: 9000, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: %d}}]
`, grpcPort)}, "---\n")
	bin := buildIngress(t, map[string]string{"gw.yaml": gw, "vs.yaml": vs, "se.yaml": se})

	// The binary refuses to start without its credentials, naming the
	// file and the server.
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--credentials-dir", t.TempDir(), "--status-addr", "", "--admin-addr", "",
		"--listen", "443=127.0.0.1:0", "--listen", "80=127.0.0.1:0", "--listen", "8080=127.0.0.1:0")
	cmd.Stderr = &stderr
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("without credentials: %v, want exit 1", err)
	}
	for _, want := range []string{filepath.Join("a-cred", "tls.crt"), "edge/gw servers[0]"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("start failure does not name %q:\n%s", want, stderr.String())
		}
	}

	wrapper := filepath.Join(t.TempDir(), "ingress")
	if err := os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec %q --credentials-dir %q \"$@\"\n", bin, creds), 0o755); err != nil {
		t.Fatal(err)
	}
	in := startIngress(t, wrapper, 443, 80, 8080)
	tlsAddr := strings.TrimPrefix(in.url(443), "http://")

	client := func(sni string, cert *testcerts.Pair, h2 bool) *http.Client {
		cfg := &tls.Config{ServerName: sni, RootCAs: ca.Pool()}
		if cert != nil {
			c := cert.TLS(t)
			cfg.Certificates = []tls.Certificate{c}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2}}
	}
	try := func(c *http.Client, host, path string) (int, string, string, error) {
		req, _ := http.NewRequest("GET", "https://"+tlsAddr+path, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Proto, nil
	}

	// SIMPLE by SNI, HTTP/2 by ALPN and HTTP/1.1.
	for _, h2 := range []bool{true, false} {
		code, body, proto, err := try(client("a.example.com", nil, h2), "a.example.com", "/p?q=1")
		want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]
		if err != nil || code != 200 || !strings.HasPrefix(body, "a GET /p?q=1") || !strings.Contains(body, "xfp=https") || proto != want {
			t.Errorf("a.example.com (h2 %t): %d %s %q %v", h2, code, proto, body, err)
		}
	}
	// A host of another server's route table: 404, as in Istio.
	if code, _, _, err := try(client("a.example.com", nil, false), "x.b.example.com", "/"); code != 404 {
		t.Errorf("SNI a.example.com, Host x.b.example.com: %d %v, want 404", code, err)
	}
	// Unknown SNI: the handshake fails.
	if _, _, _, err := try(client("nobody.example.com", nil, false), "nobody.example.com", "/"); err == nil {
		t.Error("unknown SNI: request succeeded")
	}

	// MUTUAL with a SAN check; the CA comes from b-cred-cacert.
	if code, body, _, err := try(client("x.b.example.com", &good, true), "x.b.example.com", "/m"); err != nil || code != 200 || !strings.HasPrefix(body, "b GET /m") {
		t.Errorf("MUTUAL with a good client certificate: %d %q %v", code, body, err)
	}
	for name, cert := range map[string]*testcerts.Pair{"no": nil, "wrong-SAN": &wrongSAN, "foreign": &foreign} {
		if code, _, _, err := try(client("x.b.example.com", cert, false), "x.b.example.com", "/m"); err == nil {
			t.Errorf("MUTUAL with %s client certificate: got %d, want a failed handshake", name, code)
		}
	}

	// OPTIONAL_MUTUAL from files: no certificate is fine, a pinned one is
	// fine, another one signed by the CA is not; TLS 1.2 is refused.
	for name, tc := range map[string]struct {
		cert *testcerts.Pair
		ok   bool
	}{"no": {nil, true}, "pinned": {&good, true}, "unpinned": {&wrongSAN, false}} {
		code, _, _, err := try(client("c.example.com", tc.cert, false), "c.example.com", "/")
		if (err == nil && code == 200) != tc.ok {
			t.Errorf("OPTIONAL_MUTUAL with %s certificate: %d %v, want ok=%t", name, code, err, tc.ok)
		}
	}
	c12 := client("c.example.com", nil, false)
	c12.Transport.(*http.Transport).TLSClientConfig.MaxVersion = tls.VersionTLS12
	if _, _, _, err := try(c12, "c.example.com", "/"); err == nil {
		t.Error("minProtocolVersion TLSV1_3: a TLS 1.2 client got through")
	}

	// httpsRedirect, with and without a VirtualService for the host.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, host := range []string{"a.example.com", "redirect.example.com"} {
		req, _ := http.NewRequest("GET", in.url(80)+"/p?q=1", nil)
		req.Host = host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://" + host + "/p?q=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("httpsRedirect %s: %d Location %q, want 301 %q", host, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}

	checkGRPC(t, "TLS", tlsAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: "grpc.example.com", RootCAs: ca.Pool()})), healthSrv)
	checkGRPC(t, "h2c", strings.TrimPrefix(in.url(8080), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()), healthSrv)

	checkWebSocket(t, "wss", "wss://a.example.com/ws", tlsAddr, &tls.Config{ServerName: "a.example.com", RootCAs: ca.Pool()})
	checkWebSocket(t, "ws", "ws://a.example.com/ws", strings.TrimPrefix(in.url(8080), "http://"), nil)

	checkCurlOpenSSL(t, tlsAddr, ca, good)
}

// grpcBackend is a real gRPC server (the standard health service) on
// loopback, speaking cleartext HTTP/2.
func grpcBackend(t *testing.T) (int, *health.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().(*net.TCPAddr).Port, hs
}

// checkGRPC makes a unary call, an error call (its status travels in the
// trailers) and a server-streaming call through the ingress.
func checkGRPC(t *testing.T, name, addr string, creds grpc.DialOption, hs *health.Server) {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, creds, grpc.WithAuthority("grpc.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(conn)
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC %s unary: %v %v", name, resp, err)
	}
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"}); status.Code(err) != grpccodes.NotFound {
		t.Errorf("gRPC %s unary for an unknown service: %v, want NotFound", name, err)
	}
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatalf("gRPC %s watch: %v", name, err)
	}
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC %s stream, first message: %v %v", name, m, err)
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC %s stream, second message: %v %v", name, m, err)
	}
}

// wsBackend is a WebSocket echo server on loopback.
func wsBackend(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for range 100 {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo "), msg...)); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func checkWebSocket(t *testing.T, name, url, addr string, cfg *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &http.Transport{TLSClientConfig: cfg, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Errorf("%s: dial: %v", name, err)
		return
	}
	defer c.CloseNow()
	for i := range 3 {
		msg := fmt.Sprintf("hello %d", i)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != "echo "+msg {
			t.Fatalf("%s: read %q %v, want %q", name, got, err, "echo "+msg)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// checkCurlOpenSSL replays the README's commands with the real tools.
func checkCurlOpenSSL(t *testing.T, addr string, ca *testcerts.CA, client testcerts.Pair) {
	t.Helper()
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	testcerts.Write(t, caFile, ca.PEM)
	testcerts.Write(t, certFile, client.CertPEM)
	testcerts.Write(t, keyFile, client.KeyPEM)
	_, port, _ := net.SplitHostPort(addr)

	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed by this test (.ci/run installs it)")
	}
	out, err := exec.Command("curl", "-sS", "--max-time", "10", "--cacert", caFile,
		"--resolve", "a.example.com:"+port+":127.0.0.1", "-w", " %{http_code} %{http_version}",
		"https://a.example.com:"+port+"/curl").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "a GET /curl") || !strings.HasSuffix(string(out), " 200 2") {
		t.Errorf("curl over HTTPS: %v %q", err, out)
	}
	out, err = exec.Command("curl", "-sS", "--max-time", "10", "--cacert", caFile, "--cert", certFile, "--key", keyFile,
		"--resolve", "x.b.example.com:"+port+":127.0.0.1", "https://x.b.example.com:"+port+"/mtls").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "b GET /mtls") {
		t.Errorf("curl with a client certificate: %v %q", err, out)
	}

	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed by this test (.ci/run installs it)")
	}
	sclient := func(args ...string) string {
		cmd := exec.Command("openssl", append([]string{"s_client", "-connect", addr, "-CAfile", caFile, "-quiet", "-ign_eof"}, args...)...)
		cmd.Stdin = strings.NewReader("GET /openssl HTTP/1.1\r\nHost: x.b.example.com\r\nConnection: close\r\n\r\n")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := sclient("-servername", "x.b.example.com", "-cert", certFile, "-key", keyFile); !strings.Contains(out, "HTTP/1.1 200") {
		t.Errorf("openssl s_client with a client certificate: %q", out)
	}
	if out := sclient("-servername", "x.b.example.com"); strings.Contains(out, "HTTP/1.1 200") {
		t.Errorf("openssl s_client without a client certificate got through: %q", out)
	}
}
