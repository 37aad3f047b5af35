package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/internal/testjwt"
)

// do sends req's method, path and headers to the ingress with Host
// jwt.example.com and returns the response and its body.
func do(t *testing.T, url, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "jwt.example.com"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

const jwtGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: jwt-gw, namespace: sec}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["jwt.example.com"]
`

// jwtRoutes sends group=admin tokens (a claim of the verified JWT) to
// admin, the rest to web.
const jwtRoutes = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: jwt, namespace: sec}
spec:
  hosts: [jwt.example.com]
  gateways: [jwt-gw]
  http:
  - match:
    - headers: {"@request.auth.claims.group": {exact: admin}}
    route: [{destination: {host: admin, port: {number: 8080}}}]
  - match:
    - headers: {"@request.auth.claims[org][team]": {prefix: pay}}
    route: [{destination: {host: admin, port: {number: 8080}}}]
  - route: [{destination: {host: web, port: {number: 8080}}}]
`

// TestRequestAuthenticationEndToEnd builds a gateway with two JWT rules,
// one with an inline key set and one with a jwksUri served on loopback,
// and drives it with tokens signed here: valid ones pass with their claims
// forwarded and route on them; invalid ones get Envoy's 401 (403 for an
// audience), logged with jwt_authn's response code details.
func TestRequestAuthenticationEndToEnd(t *testing.T) {
	_, webPort := backend(t, "web", 0)
	_, adminPort := backend(t, "admin", 0)
	inline := testjwt.New(t, jose.EdDSA, "inline-1")
	remote := testjwt.New(t, jose.RS256, "remote-1")
	var fetches atomic.Int32
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		io.WriteString(w, testjwt.JWKS(t, remote))
	}))
	defer jwksSrv.Close()
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": jwtGateway,
		"se.yaml": staticEntry("web", "web.sec.svc.cluster.local", webPort) + "---\n" +
			staticEntry("admin", "admin.sec.svc.cluster.local", adminPort),
		"vs.yaml": jwtRoutes,
		"ra.yaml": fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: sec}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules:
  - issuer: inline@example.com
    audiences: [jwt.example.com]
    jwks: '%s'
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders:
    - {header: x-jwt-group, claim: group}
    - {header: x-jwt-team, claim: org.team}
---
apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: remote, namespace: sec}
spec:
  jwtRules:
  - issuer: remote@example.com
    jwksUri: %s/jwks.json
    fromHeaders: [{name: x-token}]
    fromParams: [token]
    forwardOriginalToken: true
`, testjwt.JWKS(t, inline), jwksSrv.URL),
	})
	logFile := filepath.Join(t.TempDir(), "access.log")
	in := startIngressWith(t, bin, []string{"--access-log", logFile, "--access-log-format", "json"}, 80)
	url := in.url(80)
	if fetches.Load() == 0 {
		t.Fatal("the ingress was ready before fetching the jwksUri")
	}
	claims := func(iss, sub string, extra ...any) map[string]any {
		c := map[string]any{"iss": iss, "sub": sub, "aud": "jwt.example.com", "exp": time.Now().Add(time.Hour).Unix()}
		for i := 0; i+1 < len(extra); i += 2 {
			c[extra[i].(string)] = extra[i+1]
		}
		return c
	}
	admin := inline.Sign(t, claims("inline@example.com", "bob", "group", "admin"))
	user := inline.Sign(t, claims("inline@example.com", "alice", "group", "user", "org", map[string]any{"team": "payments"}))
	guest := inline.Sign(t, claims("inline@example.com", "carol", "group", "guest"))
	other := testjwt.New(t, jose.EdDSA, "inline-1")

	cases := []struct {
		name    string
		path    string
		header  []string
		status  int
		backend string
		body    []string // substrings of the body
		details string   // response code details in the access log
	}{
		{"no token passes without identity", "/none", nil, 200, "web", []string{"web GET /none"}, "via_upstream"},
		{"admin routed on its claim, token removed", "/admin", []string{"Authorization", "Bearer " + admin}, 200, "admin",
			[]string{"\nX-Jwt-Group: admin", "\nX-Jwt-Payload: " + strings.Split(admin, ".")[1]}, "via_upstream"},
		{"nested claim with brackets", "/team", []string{"Authorization", "Bearer " + user}, 200, "admin",
			[]string{"\nX-Jwt-Group: user", "\nX-Jwt-Team: payments"}, "via_upstream"},
		{"other claims take the default route", "/guest", []string{"Authorization", "Bearer " + guest}, 200, "web", nil, "via_upstream"},
		{"access_token parameter, removed", "/q?access_token=" + admin + "&x=1", nil, 200, "admin", []string{"admin GET /q?x=1 "}, ""},
		{"a client's claim header is dropped", "/spoof", []string{"X-Jwt-Group", "admin"}, 200, "web", nil, "via_upstream"},
		{"remote key, kept upstream", "/remote", []string{"X-Token", remote.Sign(t, claims("remote@example.com", "dave"))}, 200, "web",
			[]string{"\nX-Token: ey"}, "via_upstream"},
		{"expired", "/expired", []string{"Authorization", "Bearer " + inline.Sign(t, claims("inline@example.com", "x", "exp", time.Now().Add(-time.Hour).Unix()))},
			401, "", []string{"Jwt is expired"}, "jwt_authn_access_denied{Jwt_is_expired}"},
		{"signed by another key", "/forged", []string{"Authorization", "Bearer " + other.Sign(t, claims("inline@example.com", "bob", "group", "admin"))},
			401, "", []string{"Jwt verification fails"}, "jwt_authn_access_denied{Jwt_verification_fails}"},
		{"unknown issuer", "/issuer", []string{"Authorization", "Bearer " + inline.Sign(t, claims("nobody@example.com", "x"))},
			401, "", []string{"Jwt issuer is not configured"}, "jwt_authn_access_denied{Jwt_issuer_is_not_configured}"},
		{"wrong audience", "/aud", []string{"Authorization", "Bearer " + inline.Sign(t, claims("inline@example.com", "x", "aud", "bank.example.com"))},
			403, "", []string{"Audiences in Jwt are not allowed"}, "jwt_authn_access_denied{Audiences_in_Jwt_are_not_allowed}"},
		{"garbage", "/garbage", []string{"Authorization", "Bearer not-a-jwt"},
			401, "", []string{"Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"}, ""},
	}
	for _, c := range cases {
		resp, body := do(t, url, c.path, c.header...)
		if resp.StatusCode != c.status || resp.Header.Get("X-Backend") != c.backend {
			t.Errorf("%s: %d from %q %q, want %d from %q", c.name, resp.StatusCode, resp.Header.Get("X-Backend"), body, c.status, c.backend)
			continue
		}
		for _, s := range c.body {
			if !strings.Contains(body, s) {
				t.Errorf("%s: body %q lacks %q", c.name, body, s)
			}
		}
		if c.status == 200 && (strings.Contains(body, "\nAuthorization:") || strings.Contains(body, "access_token")) {
			t.Errorf("%s: the token reached the backend: %q", c.name, body)
		}
		if c.name == "a client's claim header is dropped" && strings.Contains(body, "X-Jwt-Group") {
			t.Errorf("%s: %q", c.name, body)
		}
		if c.status == 401 {
			want := `Bearer realm="http://jwt.example.com` + c.path + `", error="invalid_token"`
			if got := resp.Header.Get("Www-Authenticate"); got != want {
				t.Errorf("%s: www-authenticate %q, want %q", c.name, got, want)
			}
		}
		if c.details != "" {
			if got := accessLogDetails(t, logFile, c.path); got != c.details {
				t.Errorf("%s: response_code_details %q, want %q", c.name, got, c.details)
			}
		}
	}
	// The payload header is the token's own payload segment.
	if _, err := base64.RawURLEncoding.DecodeString(strings.Split(admin, ".")[1]); err != nil {
		t.Fatal(err)
	}
	counts := requestCounts(in.scrape(t))
	if counts["401 -"] != 4 || counts["403 -"] != 1 {
		t.Errorf("istio_requests_total by code and flags: %v, want 4×401 and 1×403", counts)
	}
}

// accessLogDetails waits, bounded, for the JSON access-log line of path
// and returns its response_code_details.
func accessLogDetails(t *testing.T, file, path string) string {
	t.Helper()
	for range 100 {
		data, _ := os.ReadFile(file)
		for line := range strings.SplitSeq(string(data), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			if p, _ := entry["path"].(string); p == path {
				d, _ := entry["response_code_details"].(string)
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no access-log line for %s", path)
	return ""
}

// TestJWKSDownRejectsTokens starts a gateway whose jwksUri answers
// nothing: a token is refused, a request without one passes.
func TestJWKSDownRejectsTokens(t *testing.T) {
	_, webPort := backend(t, "web", 0)
	_, adminPort := backend(t, "admin", 0)
	key := testjwt.New(t, jose.ES256, "k")
	bin := buildIngress(t, map[string]string{
		"gateway.yaml": jwtGateway,
		"se.yaml": staticEntry("web", "web.sec.svc.cluster.local", webPort) + "---\n" +
			staticEntry("admin", "admin.sec.svc.cluster.local", adminPort),
		"vs.yaml": jwtRoutes,
		"ra.yaml": fmt.Sprintf(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: down, namespace: sec}
spec:
  jwtRules:
  - issuer: down@example.com
    jwksUri: http://127.0.0.1:%d/jwks.json
    timeout: 1s
`, closedPort(t)),
	})
	in := startIngress(t, bin, 80)
	tok := key.Sign(t, map[string]any{"iss": "down@example.com", "sub": "x", "group": "admin"})
	if resp, body := do(t, in.url(80), "/", "Authorization", "Bearer "+tok); resp.StatusCode != 401 || body != "Jwks remote fetch is failed" {
		t.Errorf("token with the key set never fetched: %d %q, want 401", resp.StatusCode, body)
	}
	if resp, body := do(t, in.url(80), "/"); resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "web" {
		t.Errorf("no token: %d %q, want 200 from web", resp.StatusCode, body)
	}
	if !strings.Contains(in.logs(), "fetching JWKS") {
		t.Errorf("the failed fetch was not logged:\n%s", in.logs())
	}
}
