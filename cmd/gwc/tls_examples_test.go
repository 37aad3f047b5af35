package main

import (
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

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// TestTLSExamples builds each TLS and TCP example with the real gwc build,
// runs backends where the examples' ServiceEntries say they are, makes the
// credentials their READMEs describe, and replays the READMEs' commands:
// against each example built on its own, then against one ingress built
// from the whole of ./examples, which must serve every one of them.
func TestTLSExamples(t *testing.T) {
	lockDemoPorts(t)
	ca := testcerts.NewCA(t, "examples CA")
	creds := t.TempDir()
	testcerts.WriteCredential(t, creds, "webapp-credential", ca.Server(t, "webapp.example.com"), nil)
	testcerts.WriteCredential(t, creds, "catalog-credential", ca.Server(t, "catalog.example.com"), nil)
	testcerts.WriteCredential(t, creds, "shop-credential", ca.Server(t, "shop.example.com"), nil)
	testcerts.WriteCredential(t, creds, "secure-credential", ca.Server(t, "secure.example.com"), ca.PEM)
	tools := t.TempDir()
	caFile := filepath.Join(tools, "ca.crt")
	testcerts.Write(t, caFile, ca.PEM)
	client := ca.Client(t, "client.example.com")
	certFile, keyFile := filepath.Join(tools, "client.crt"), filepath.Join(tools, "client.key")
	testcerts.Write(t, certFile, client.CertPEM)
	testcerts.Write(t, keyFile, client.KeyPEM)

	fixedBackends(t, ca)

	start := func(dir string, ports ...int) *ingress {
		t.Helper()
		bin := buildPaths(t, "../../examples/"+dir)
		wrapper := filepath.Join(t.TempDir(), "ingress")
		if err := os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec %q --credentials-dir %q \"$@\"\n", bin, creds), 0o755); err != nil {
			t.Fatal(err)
		}
		return startIngress(t, wrapper, ports...)
	}
	addr := func(in *ingress, port int) string { return strings.TrimPrefix(in.url(port), "http://") }
	curl := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "10"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("curl failed: %v: %s", err, out)
		}
		return string(out)
	}
	resolve := func(host, a string) string {
		_, port, _ := net.SplitHostPort(a)
		return host + ":" + port + ":127.0.0.1"
	}
	url := func(host, a string) string {
		_, port, _ := net.SplitHostPort(a)
		return "https://" + host + ":" + port + "/"
	}

	checks := []struct {
		dir   string
		ports []int
		check func(t *testing.T, in *ingress)
	}{{"tls/https", []int{443, 80}, func(t *testing.T, in *ingress) {
		a := addr(in, 443)
		if out := curl("--cacert", caFile, "--resolve", resolve("webapp.example.com", a), url("webapp.example.com", a)+"api"); !strings.HasPrefix(out, "webapp GET /api https") {
			t.Errorf("curl https: %q", out)
		}
		if out := curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: webapp.example.com", in.url(80)+"/api?x=1"); out != "301 https://webapp.example.com/api?x=1" {
			t.Errorf("curl http: %q, want the redirect", out)
		}
	}}, {"tls/mtls", []int{443}, func(t *testing.T, in *ingress) {
		a := addr(in, 443)
		if out := curl("--cacert", caFile, "--cert", certFile, "--key", keyFile, "--resolve", resolve("secure.example.com", a), url("secure.example.com", a)); !strings.HasPrefix(out, "webapp GET / https") {
			t.Errorf("curl with a client certificate: %q", out)
		}
		if out := curl("--cacert", caFile, "--resolve", resolve("secure.example.com", a), url("secure.example.com", a)); !strings.HasPrefix(out, "curl failed") {
			t.Errorf("curl without a client certificate: %q, want a failure", out)
		}
	}}, {"tls/sni", []int{443}, func(t *testing.T, in *ingress) {
		a := addr(in, 443)
		for host, service := range map[string]string{"catalog.example.com": "catalog", "shop.example.com": "webapp"} {
			c, err := tls.Dial("tcp", a, &tls.Config{ServerName: host, RootCAs: ca.Pool()})
			if err != nil {
				t.Errorf("%s: %v", host, err)
				continue
			}
			if got := c.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != host {
				t.Errorf("%s: certificate for %v", host, got)
			}
			c.Close()
			if out := curl("--cacert", caFile, "--resolve", resolve(host, a), url(host, a)); !strings.HasPrefix(out, service+" GET / https host="+host) {
				t.Errorf("curl %s: %q, want %s's answer", host, out, service)
			}
		}
	}}, {"tcp-echo", []int{31400}, func(t *testing.T, in *ingress) {
		c, err := net.Dial("tcp", addr(in, 31400))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "hello world\n")
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if out, err := io.ReadAll(c); string(out) != "hello world\n" {
			t.Errorf("echo: %q %v", out, err)
		}
	}}, {"tls/passthrough", []int{443}, func(t *testing.T, in *ingress) {
		a := addr(in, 443)
		for _, name := range []string{"one", "two"} {
			cmd := exec.Command("openssl", "s_client", "-connect", a, "-servername", name+".example.com", "-CAfile", caFile, "-verify_return_error", "-quiet", "-ign_eof")
			cmd.Stdin = strings.NewReader("hi\n")
			out, err := cmd.CombinedOutput()
			if !strings.Contains(string(out), "service "+name+" says hi") {
				t.Errorf("openssl s_client -servername %s.example.com: %v %q", name, err, out)
			}
		}
		if c, err := tls.Dial("tcp", a, &tls.Config{ServerName: "three.example.com", RootCAs: ca.Pool()}); err == nil {
			c.Close()
			t.Error("an SNI with no route got a handshake")
		}
	}}}
	for _, c := range checks {
		t.Run(c.dir, func(t *testing.T) { c.check(t, start(c.dir, c.ports...)) })
	}
	t.Run("all", func(t *testing.T) {
		all := start(".", 80, 443, 31400)
		for _, c := range checks {
			t.Run(c.dir, func(t *testing.T) { c.check(t, all) })
		}
	})
}

// fixedBackends serves what the TLS and TCP examples' ServiceEntries name:
// webapp on 127.0.0.1:9080, catalog on 9084, the TCP echo on 9090, TLS
// services one and two on 9443 and 9444.
func fixedBackends(t *testing.T, ca *testcerts.CA) {
	t.Helper()
	listen := func(addr string) net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the examples' ServiceEntries name %s, which is busy: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	for name, addr := range map[string]string{"webapp": "127.0.0.1:9080", "catalog": "127.0.0.1:9084"} {
		web := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s %s %s host=%s\n", name, r.Method, r.URL.RequestURI(), r.Header.Get("X-Forwarded-Proto"), r.Host)
		})}
		go web.Serve(listen(addr))
		t.Cleanup(func() { web.Close() })
	}
	serve := func(ln net.Listener, handle func(net.Conn)) {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					handle(c)
				}()
			}
		}()
	}
	serve(listen("127.0.0.1:9090"), func(c net.Conn) { io.Copy(c, c) })
	for i, name := range []string{"one", "two"} {
		cert := ca.Server(t, name+".example.com").TLS(t)
		ln := tls.NewListener(listen(fmt.Sprintf("127.0.0.1:%d", 9443+i)), &tls.Config{Certificates: []tls.Certificate{cert}})
		serve(ln, func(c net.Conn) {
			b := make([]byte, 64)
			n, _ := c.Read(b)
			fmt.Fprintf(c, "service %s says %s", name, b[:n])
		})
	}
}
