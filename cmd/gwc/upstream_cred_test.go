package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// tlsBackend is an HTTPS server on loopback that answers with its name and
// the common name of the client certificate, if any; with clientCA set it
// requires a client certificate from that CA.
func tlsBackend(t *testing.T, name string, cert testcerts.Pair, clientCA *testcerts.CA) int {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS(t)}}
	if clientCA != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "-"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "%s sni=%s client=%s", name, r.TLS.ServerName, client)
	}), ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are expected
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestUpstreamTLSCredentialName originates TLS with DestinationRule
// credentialNames read from --credentials-dir: SIMPLE with the CA in a
// NAME-cacert credential, MUTUAL with certificate, key and CA in one
// credential, against real TLS backends; a missing credential stops the
// binary at start, naming the file and the cluster.
func TestUpstreamTLSCredentialName(t *testing.T) {
	ca := testcerts.NewCA(t, "upstream CA")
	other := testcerts.NewCA(t, "other CA")
	serverCert := ca.Server(t, "backend.internal")
	simplePort := tlsBackend(t, "simple", serverCert, nil)
	mutualPort := tlsBackend(t, "mutual", serverCert, ca)
	foreignPort := tlsBackend(t, "foreign", other.Server(t, "backend.internal"), nil)

	creds := t.TempDir()
	if err := os.MkdirAll(filepath.Join(creds, "simple-cacert"), 0o755); err != nil {
		t.Fatal(err)
	}
	testcerts.Write(t, filepath.Join(creds, "simple-cacert", "ca.crt"), ca.PEM)
	testcerts.WriteCredential(t, creds, "mutual", ca.Client(t, "gateway.example.com"), ca.PEM)

	vs := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match: [{uri: {prefix: /simple}}]
    route: [{destination: {host: simple}}]
  - match: [{uri: {prefix: /mutual}}]
    route: [{destination: {host: mutual}}]
  - match: [{uri: {prefix: /foreign}}]
    retries: {attempts: 0}
    route: [{destination: {host: foreign}}]
`
	dr := func(host, mode, cred string) string {
		return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: %[1]s, namespace: shop}
spec:
  host: %[1]s
  trafficPolicy:
    tls: {mode: %[2]s, credentialName: %[3]s, sni: backend.internal}
`, host, mode, cred)
	}
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"vs.yaml":      vs,
		"dr.yaml":      strings.Join([]string{dr("simple", "SIMPLE", "simple"), dr("mutual", "MUTUAL", "mutual"), dr("foreign", "SIMPLE", "simple")}, "---\n"),
		"se.yaml": strings.Join([]string{
			staticEntry("simple", "simple.shop.svc.cluster.local", simplePort),
			staticEntry("mutual", "mutual.shop.svc.cluster.local", mutualPort),
			staticEntry("foreign", "foreign.shop.svc.cluster.local", foreignPort),
		}, "---\n"),
	})

	// Without the mutual credential's key the binary does not start.
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "simple-cacert"), 0o755); err != nil {
		t.Fatal(err)
	}
	testcerts.Write(t, filepath.Join(broken, "simple-cacert", "ca.crt"), ca.PEM)
	testcerts.WriteCredential(t, broken, "mutual", ca.Client(t, "gateway.example.com"), ca.PEM)
	os.Remove(filepath.Join(broken, "mutual", "tls.key"))
	cmd := exec.Command(bin, "--credentials-dir", broken, "--listen", "80=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("without mutual/tls.key: %v, want exit 1", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the binary started without its upstream credential")
	}
	for _, want := range []string{filepath.Join(broken, "mutual", "tls.key"), "outbound|8080||mutual.shop.svc.cluster.local"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("start-up error does not name %q:\n%s", want, stderr.String())
		}
	}

	in := startIngressWith(t, bin, []string{"--credentials-dir", creds}, 80)
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/simple", 200, "simple sni=backend.internal client=-"},
		{"/mutual", 200, "mutual sni=backend.internal client=gateway.example.com"},
		// A backend whose certificate the credential's CA did not sign.
		{"/foreign", 503, ""},
	} {
		code, body := get(t, c, in.url(80)+tc.path, "shop.example.com")
		if code != tc.code || tc.body != "" && body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
}
