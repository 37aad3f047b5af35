package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// TestAuthorizationEndToEnd drives a binary built with a DENY, an ALLOW
// and an AUDIT AuthorizationPolicy: 403 "RBAC: access denied" with Envoy's
// response code details in the access log, counted in istio_requests_total
// with no response flag (Envoy's RBAC filter sets none); the AUDIT rule is
// logged and enforces nothing.
func TestAuthorizationEndToEnd(t *testing.T) {
	_, port := backend(t, "A", 0)
	policies := `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: shop}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"], notMethods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-shop, namespace: shop}
spec:
  rules: [{to: [{operation: {hosts: [shop.example.com]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit-reports, namespace: shop}
spec:
  action: AUDIT
  rules: [{to: [{operation: {paths: ["/reports/*"]}}]}]
`
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": shopGateway,
		"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":      shopRoute("a"),
		"authz.yaml":   policies,
	})
	logFile := filepath.Join(t.TempDir(), "access.log")
	in := startIngressWith(t, bin, []string{"--access-log", logFile}, 80)
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, host string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, in.url(80)+path, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	want := map[string]string{} // path -> "code flags details"
	check := func(method, path, host string, code int, details string) {
		t.Helper()
		got, body := do(method, path, host)
		if got != code || code == 403 && body != "RBAC: access denied" {
			t.Errorf("%s %s (Host %s): %d %q, want %d", method, path, host, got, body, code)
		}
		want[path] = fmt.Sprintf("%d - %s", code, details)
	}
	check("GET", "/admin/a", "shop.example.com", 200, "via_upstream")
	check("POST", "/admin/b", "shop.example.com", 403, "rbac_access_denied_matched_policy[ns[shop]-policy[deny-admin]-rule[0]]")
	check("GET", "/other", "other.example.com", 403, "rbac_access_denied_matched_policy[none]")
	check("GET", "/reports/q1", "shop.example.com", 200, "via_upstream")

	got := map[string]string{}
	for i := 0; i < 100 && len(got) < len(want); i++ {
		time.Sleep(20 * time.Millisecond)
		data, _ := os.ReadFile(logFile)
		got = map[string]string{}
		for line := range strings.SplitSeq(string(data), "\n") {
			if m := accessLineRE.FindStringSubmatch(line); m != nil {
				rest := strings.Fields(line[len(m[0]):])
				if len(rest) > 0 {
					got[m[2]] = m[3] + " " + m[4] + " " + rest[0]
				}
			}
		}
	}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("access log for %s: %q, want %q", path, got[path], w)
		}
	}
	if counts := in.settledCounts(t, 4); counts["200 -"] != 2 || counts["403 -"] != 2 || len(counts) != 2 {
		t.Errorf("istio_requests_total by code and flags: %v, want 2×200 and 2×403", counts)
	}
	logs := in.logs()
	if !strings.Contains(logs, "authorization audit") || !strings.Contains(logs, "ns[shop]-policy[audit-reports]-rule[0]") || !strings.Contains(logs, "/reports/q1") {
		t.Errorf("no audit line for /reports/q1 in the ingress log:\n%s", logs)
	}
	if strings.Count(logs, "authorization audit") != 1 {
		t.Errorf("want one audit line (only /reports/q1 matches):\n%s", logs)
	}
}

// TestAuthorizationPrincipalsEndToEnd: principals and namespaces match the
// client certificate's SPIFFE URI SAN on a MUTUAL server; a certificate
// without one never matches.
// https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source
func TestAuthorizationPrincipalsEndToEnd(t *testing.T) {
	ca := testcerts.NewCA(t, "mesh CA")
	creds := t.TempDir()
	testcerts.WriteCredential(t, creds, "shop-cert", ca.Server(t, "shop.example.com"), ca.PEM)
	_, port := backend(t, "A", 0)
	gw := `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop.example.com]
    tls: {mode: MUTUAL, credentialName: shop-cert}
`
	policy := `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/web]}}]
  - from: [{source: {namespaces: [ops]}}]
    to: [{operation: {methods: [GET]}}]
`
	bin := buildIngress(t, map[string]string{
		"gw.yaml":     gw,
		"se.yaml":     staticEntry("a", "a.shop.svc.cluster.local", port),
		"vs.yaml":     strings.Replace(shopRoute("a"), "[shop-gw]", "[gw]", 1),
		"policy.yaml": policy,
	})
	wrapper := filepath.Join(t.TempDir(), "ingress")
	if err := os.WriteFile(wrapper, fmt.Appendf(nil, "#!/bin/sh\nexec %q --credentials-dir %q \"$@\"\n", bin, creds), 0o755); err != nil {
		t.Fatal(err)
	}
	in := startIngress(t, wrapper, 443)
	addr := strings.TrimPrefix(in.url(443), "http://")
	try := func(method string, cert testcerts.Pair) int {
		t.Helper()
		cfg := &tls.Config{ServerName: "shop.example.com", RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert.TLS(t)}}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		req, _ := http.NewRequest(method, "https://"+addr+"/", nil)
		req.Host = "shop.example.com"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	web := ca.Client(t, "web", "spiffe://cluster.local/ns/shop/sa/web")
	ops := ca.Client(t, "ops", "spiffe://cluster.local/ns/ops/sa/runner")
	other := ca.Client(t, "other", "spiffe://cluster.local/ns/shop/sa/db")
	plain := ca.Client(t, "cluster.local/ns/shop/sa/web")
	for _, c := range []struct {
		name   string
		method string
		cert   testcerts.Pair
		want   int
	}{
		{"principal", "POST", web, 200},
		{"namespace", "GET", ops, 200},
		{"namespace, method not allowed", "POST", ops, 403},
		{"another service account", "GET", other, 403},
		{"no SPIFFE URI", "GET", plain, 403},
	} {
		if got := try(c.method, c.cert); got != c.want {
			t.Errorf("%s: %s: status %d, want %d", c.name, c.method, got, c.want)
		}
	}
}
