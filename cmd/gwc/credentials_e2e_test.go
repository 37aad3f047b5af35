package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
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

// TestCredentialFormsAndConfinement builds a Gateway whose servers name
// their Secrets in three of the forms Istio accepts and runs the binary
// against a --credentials-dir laid out as the kubelet mounts Secrets; then
// against one where a Secret folder is a link out of the directory, which
// must not start.
func TestCredentialFormsAndConfinement(t *testing.T) {
	ca := testcerts.NewCA(t, "edge CA")
	_, port := backend(t, "web", 0)
	gw := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: shop}
spec:
  servers:
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.example.com]
    tls: {mode: SIMPLE, credentialName: "kubernetes://web-a"}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: [b.example.com]
    tls: {mode: SIMPLE, credentialName: "shop/web-b"}
  - port: {number: 443, name: https-c, protocol: HTTPS}
    hosts: [c.example.com]
    tls: {mode: SIMPLE, credentialName: "kubernetes-gateway://shop/web-c"}
`
	vs := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [a.example.com, b.example.com, c.example.com]
  gateways: [shop-gw]
  http:
  - route: [{destination: {host: web}}]
`
	bin := buildIngress(t, map[string]string{"gateway.yaml": gw, "vs.yaml": vs, "se.yaml": staticEntry("web", "web.shop.svc.cluster.local", port)})

	// The kubelet's layout: DIR/NAME/tls.crt -> ..data/tls.crt -> ..VERSION/tls.crt.
	creds := t.TempDir()
	for _, name := range []string{"web-a", "web-b", "web-c"} {
		secret := filepath.Join(creds, name)
		host := strings.TrimPrefix(name, "web-") + ".example.com"
		testcerts.WriteCredential(t, secret, "..2026_12_07_00_00_00.1", ca.Server(t, host), nil)
		if err := os.Symlink("..2026_12_07_00_00_00.1", filepath.Join(secret, "..data")); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"tls.crt", "tls.key"} {
			if err := os.Symlink(filepath.Join("..data", f), filepath.Join(secret, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	in := startIngressWith(t, bin, []string{"--credentials-dir", creds}, 443)
	addr := strings.TrimPrefix(in.url(443), "http://")
	for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{ServerName: host, RootCAs: ca.Pool()},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		status, body := get(t, c, "https://"+host+"/", host)
		if status != 200 || !strings.HasPrefix(body, "web ") {
			t.Errorf("%s: %d %q, want the backend over the Secret's certificate", host, status, body)
		}
	}

	// A Secret folder linking out of --credentials-dir: the binary stops.
	escape := t.TempDir()
	outside := t.TempDir()
	testcerts.WriteCredential(t, outside, "web-a", ca.Server(t, "a.example.com"), nil)
	os.Symlink(filepath.Join(outside, "web-a"), filepath.Join(escape, "web-a"))
	for _, name := range []string{"web-b", "web-c"} {
		testcerts.WriteCredential(t, escape, name, ca.Server(t, "x.example.com"), nil)
	}
	cmd := exec.Command(bin, "--credentials-dir", escape, "--listen", "443=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("with web-a linking out of the folder: %v, want exit 1", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the binary started with a credential outside --credentials-dir")
	}
	for _, want := range []string{filepath.Join(escape, "web-a", "tls.crt"), "path escapes", "inside --credentials-dir " + escape} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("start-up error does not say %q:\n%s", want, stderr.String())
		}
	}
}
