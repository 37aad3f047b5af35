package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCoolstoreExample builds ./examples/coolstore with the real gwc build, runs the
// real demo backend where the example's ServiceEntry says it is
// (127.0.0.1:9080), and replays the README's requests.
func TestCoolstoreExample(t *testing.T) {
	startDemoBackend(t, "")
	in := startIngress(t, buildPaths(t, "../../examples/coolstore"), 80)

	status, body := get(t, http.DefaultClient, in.url(80)+"/api/catalog?page=2", "webapp.istioinaction.io")
	var seen struct {
		Service, Host, Path string
		Headers             map[string]string
	}
	if err := json.Unmarshal([]byte(body), &seen); err != nil || status != 200 {
		t.Fatalf("got %d %q (%v)", status, body, err)
	}
	if seen.Service != "webapp" || seen.Host != "webapp.istioinaction.io" || seen.Path != "/api/catalog?page=2" ||
		seen.Headers["X-Forwarded-Proto"] != "http" || seen.Headers["X-Request-Id"] == "" {
		t.Errorf("backend saw %+v", seen)
	}
	if status, _ := get(t, http.DefaultClient, in.url(80)+"/", "other.example.com"); status != 404 {
		t.Errorf("other host: got %d, want 404", status)
	}
}

// startDemoBackend builds and runs the demo backend where the examples'
// ServiceEntries put their services (127.0.0.1:9080), answering as name
// (the backend's default, webapp, when ""), holding the demo's port lock
// until the test ends.
func startDemoBackend(t *testing.T, name string) {
	t.Helper()
	demo := filepath.Join(t.TempDir(), "demo-backend")
	if out, err := exec.Command("go", "build", "-o", demo, "../../examples/demo-backend").CombinedOutput(); err != nil {
		t.Fatalf("building the demo backend: %v\n%s", err, out)
	}
	lockDemoPorts(t)
	if ln, err := net.Listen("tcp", "127.0.0.1:9080"); err != nil {
		t.Fatalf("the example's ServiceEntry points at 127.0.0.1:9080, which is busy (is make demo running?): %v", err)
	} else {
		ln.Close()
	}
	args := []string{"--addr", "127.0.0.1:9080"}
	if name != "" {
		args = append(args, "--name", name)
	}
	backend := exec.Command(demo, args...)
	if err := backend.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Process.Kill(); backend.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:9080")
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("demo backend not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockDemoPorts takes the lock examples/demo.sh takes: the example's ports
// are fixed, so the demo and this test, in any checkout, take turns.
func lockDemoPorts(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "gwc-demo-ports.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for i := 0; syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil; i++ {
		if i == 3000 {
			t.Fatal("the example's ports stayed locked for 5 minutes: is make demo running?")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestExamplesCompose reads ./examples as the one gateway it is: routes
// lists every example's hosts and connection routes, explain follows a
// request of each TLS kind.
func TestExamplesCompose(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"routes", "../../examples"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gwc routes ./examples exited %d:\n%s", code, stderr.String())
	}
	for _, want := range []string{
		"listener :80 HTTP", "host webapp.istioinaction.io", "host reviews.example.com", "host jwt.example.com",
		"host webapp.example.com (httpsRedirect: 301 to https)",
		"listener :443 HTTPS", "host secure.example.com", "host catalog.example.com", "host shop.example.com",
		"connections sni one.example.com -> outbound|443||one.istioinaction.svc.cluster.local (100)",
		"listener :31400 TCP", "connections -> outbound|9000||tcp-echo.istioinaction.svc.cluster.local (100)",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("gwc routes ./examples lacks %q:\n%s", want, stdout.String())
		}
	}
	for req, want := range map[string]string{
		"GET https://secure.example.com/": "examples/tls/mtls/ingress.yaml:13:5 istioinaction/secure-gateway servers[0]",
		"GET http://webapp.example.com/a": "result    301, httpsRedirect: plaintext requests go to https\nlocation  https://webapp.example.com/a",
		"GET https://webapp.example.com/": "result    -> outbound|8080||webapp.istioinaction.svc.cluster.local (100)",
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run([]string{"explain", "../../examples", req}, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("gwc explain %q exited %d:\n%s", req, code, stderr.String())
		}
		if got := stdout.String(); !strings.Contains(got, want) {
			t.Errorf("gwc explain %q lacks %q:\n%s", req, want, got)
		}
	}
}

// TestExamplesConflict adds to ./examples a Gateway that really conflicts
// with one of them (webapp.example.com on port 443 with other TLS
// settings): the build fails naming both servers, with a hint, and writes
// nothing.
func TestExamplesConflict(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other-gateway, namespace: istioinaction}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [webapp.example.com]
    tls: {mode: MUTUAL, credentialName: other-credential}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ingress")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"build", "-o", bin, "../../examples", other}, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("gwc build exited %d, want 1:\n%s", code, stderr.String())
	}
	got := stderr.String()
	for _, want := range []string{
		"examples/tls/https/ingress.yaml:15:12: error IST0145: Gateway istioinaction/web-gateway",
		other + ":6:5 istioinaction/other-gateway servers[0]",
		"= hint: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the build's errors lack %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("a binary was written despite the conflict: %v", err)
	}
}

// TestSecurityJWTExample builds ./examples/security-jwt and replays its
// README: tokens of the example's issuer pass with their group forwarded
// and route on it, a token altered on the way gets 401, a request without
// a token passes except under /admin/, where it gets 403.
func TestSecurityJWTExample(t *testing.T) {
	startDemoBackend(t, "")
	in := startIngress(t, buildPaths(t, "../../examples/security-jwt"), 80)
	token := func(name string) string {
		b, err := os.ReadFile(filepath.Join("../../examples/security-jwt", name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	type seen struct {
		Service, Path string
		Headers       map[string]string
	}
	send := func(header ...string) (int, seen, string) {
		t.Helper()
		status, body := get(t, http.DefaultClient, in.url(80)+"/headers", "jwt.example.com", header...)
		var s seen
		if status == 200 {
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
		}
		return status, s, body
	}
	if status, s, body := send("Authorization", "Bearer "+token("admin.jwt")); status != 200 ||
		s.Headers["X-Route"] != "admins" || s.Headers["X-Jwt-Group"] != "admin" || s.Headers["Authorization"] != "" {
		t.Errorf("admin token: %d %q", status, body)
	}
	if status, s, body := send("Authorization", "Bearer "+token("user.jwt")); status != 200 ||
		s.Headers["X-Route"] != "everyone" || s.Headers["X-Jwt-Group"] != "user" {
		t.Errorf("user token: %d %q", status, body)
	}
	if status, s, body := send(); status != 200 || s.Headers["X-Route"] != "everyone" || s.Headers["X-Jwt-Group"] != "" {
		t.Errorf("no token: %d %q", status, body)
	}
	// Istio's "require a valid token": /admin/ needs a principal.
	adminPath := func(header ...string) (int, string) {
		t.Helper()
		return get(t, http.DefaultClient, in.url(80)+"/admin/headers", "jwt.example.com", header...)
	}
	if status, body := adminPath(); status != 403 || body != "RBAC: access denied" {
		t.Errorf("/admin/ without a token: %d %q, want 403 RBAC: access denied", status, body)
	}
	if status, body := adminPath("Authorization", "Bearer "+token("user.jwt")); status != 200 {
		t.Errorf("/admin/ with a valid token: %d %q", status, body)
	}
	// The user's token with the admin's payload: the signature no longer
	// matches.
	u, a := strings.Split(token("user.jwt"), "."), strings.Split(token("admin.jwt"), ".")
	if status, _, body := send("Authorization", "Bearer "+u[0]+"."+a[1]+"."+u[2]); status != 401 || body != "Jwt verification fails" {
		t.Errorf("altered token: %d %q, want 401 Jwt verification fails", status, body)
	}
	// explain decodes the token, says it did not verify it, and follows
	// the claim route.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "-H", "authorization: Bearer " + token("admin.jwt"), "../../examples/security-jwt",
		"GET http://jwt.example.com/headers"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gwc explain exited %d:\n%s", code, stderr.String())
	}
	for _, want := range []string{"NOT verified", "principal testing@secure.example.com/bob", "MATCHES header @request.auth.claims.group exact \"admin\""} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("gwc explain lacks %q:\n%s", want, stdout.String())
		}
	}
}
