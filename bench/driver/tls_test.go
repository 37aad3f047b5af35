package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func httpsScenario(t *testing.T) scenario {
	t.Helper()
	for _, s := range scenarios() {
		if s.Name == "https" {
			if !s.TLS {
				t.Fatal("scenario https is not TLS")
			}
			return s
		}
	}
	t.Fatal("no https scenario")
	return scenario{}
}

// TestHTTPSScenarioConfigs checks the HTTPS scenario's configuration for
// every target: the Istio resources compile to an HTTPS listener that
// terminates with the credential the driver writes, the certificate and
// key are a pair valid for the scenario's host, and nginx, HAProxy and
// Caddy listen with TLS on their ports with that same certificate.
func TestHTTPSScenarioConfigs(t *testing.T) {
	s := httpsScenario(t)
	dir := t.TempDir()
	p := defaultPorts
	if err := writeScenario(dir, s, p); err != nil {
		t.Fatal(err)
	}

	cfg := compileIR(t, filepath.Join(dir, "istio"))
	if len(cfg.Listeners) != 1 {
		t.Fatalf("compiled %d listeners, want 1", len(cfg.Listeners))
	}
	l := cfg.Listeners[0]
	if l.Port != 443 || len(l.TLS) != 1 || l.TLS[0].Mode != "SIMPLE" || l.TLS[0].CredentialName != benchCredential {
		t.Fatalf("listener port %d, TLS %+v; want 443 terminating with credential %s", l.Port, l.TLS, benchCredential)
	}
	if len(l.VirtualHosts) != 1 || l.VirtualHosts[0].Domain != "bench.example.com" {
		t.Errorf("virtual hosts %+v, want bench.example.com", l.VirtualHosts)
	}

	// The ingress reads CREDENTIALS_DIR/NAME/tls.crt and tls.key.
	c := certPaths(dir)
	if c.Cert != filepath.Join(c.CredsDir, benchCredential, "tls.crt") || c.Key != filepath.Join(c.CredsDir, benchCredential, "tls.key") {
		t.Errorf("credential files %s, %s not in the layout --credentials-dir expects", c.Cert, c.Key)
	}
	pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		t.Fatalf("certificate and key: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	conf, err := clientTLS(dir, "bench.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bench.example.com", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: conf.RootCAs, DNSName: name}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
	combined, err := os.ReadFile(c.Combined)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(combined, combined); err != nil {
		t.Errorf("HAProxy's combined file is not a certificate and its key: %v", err)
	}
	certPEM, _ := os.ReadFile(c.Cert)
	if block, _ := pem.Decode(combined); block == nil || !strings.HasPrefix(string(combined), string(certPEM)) {
		t.Error("HAProxy's combined file does not start with the same certificate")
	}

	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for file, wants := range map[string][]string{
		"nginx.conf": {
			"listen 127.0.0.1:19081 ssl default_server;", "listen 127.0.0.1:19081 ssl;",
			"ssl_certificate " + c.Cert + ";", "ssl_certificate_key " + c.Key + ";",
			"ssl_protocols TLSv1.2 TLSv1.3;", "X-Forwarded-Proto $scheme",
		},
		"haproxy.cfg": {"bind 127.0.0.1:19082 ssl crt " + c.Combined + " alpn http/1.1\n", "set-header X-Forwarded-Proto https\n"},
		"Caddyfile":   {"https://bench.example.com:19083 {", "tls " + c.Cert + " " + c.Key + "\n"},
	} {
		got := read(file)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", file, w, got)
			}
		}
	}
	if got := scenarioTargets([]string{"gwc", "nginx", "direct", "caddy"}, s); !slices.Equal(got, []string{"gwc", "nginx", "caddy"}) {
		t.Errorf("targets of https: %v; direct (cleartext only) must be left out", got)
	}
}

// TestCleartextScenarioHasNoTLS checks that a cleartext scenario gets no
// certificate and no TLS settings, and keeps the direct target.
func TestCleartextScenarioHasNoTLS(t *testing.T) {
	s := scenarios()[0]
	dir := t.TempDir()
	if err := writeScenario(dir, s, defaultPorts); err != nil {
		t.Fatal(err)
	}
	if l := compileIR(t, filepath.Join(dir, "istio")).Listeners; len(l) != 1 || l[0].Port != 80 || len(l[0].TLS) != 0 {
		t.Errorf("listeners %+v, want one on port 80 without TLS", l)
	}
	if _, err := os.Stat(certPaths(dir).CredsDir); !os.IsNotExist(err) {
		t.Errorf("credentials written for a cleartext scenario (stat: %v)", err)
	}
	for _, file := range []string{"nginx.conf", "haproxy.cfg", "Caddyfile"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "ssl") || strings.Contains(string(data), "https://") || strings.Contains(string(data), "\n  tls ") {
			t.Errorf("%s of %s has TLS settings:\n%s", file, s.Name, data)
		}
	}
	if got := scenarioTargets([]string{"gwc", "direct"}, s); !slices.Equal(got, []string{"gwc", "direct"}) {
		t.Errorf("targets of %s: %v", s.Name, got)
	}
}
