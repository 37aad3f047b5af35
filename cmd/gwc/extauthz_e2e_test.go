package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// TestExtAuthzEndToEnd: CUSTOM AuthorizationPolicies ask an external
// authorizer, a real server on loopback speaking Envoy's ext_authz HTTP or
// gRPC protocol, given as Istio's meshConfig extensionProviders entry
// (gwc build --mesh-config). An allowed request reaches the upstream with
// the headers the authorizer added; a denial is the authorizer's answer,
// flagged UAEX; an authorizer that is down gets statusOnError, or lets the
// request through with failOpen. Requests no CUSTOM rule selects are not
// sent to it.
// https://istio.io/latest/docs/tasks/security/authorization/authz-custom/
func TestExtAuthzEndToEnd(t *testing.T) {
	upstream := func() int {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "upstream %s user=%s", r.URL.Path, r.Header.Get("X-Authz-User"))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().(*net.TCPAddr).Port
	}()

	// The HTTP authorizer: alice is allowed, the rest denied with the
	// authorizer's own status, body and header.
	var (
		mu         sync.Mutex
		httpChecks []string
	)
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAuthz := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		httpChecks = append(httpChecks, r.Method+" "+r.Host+" "+r.URL.RequestURI())
		mu.Unlock()
		if r.Header.Get("X-User") == "alice" && r.Header.Get("Authorization") == "Basic YWxpY2U=" {
			w.Header().Set("X-Authz-User", "alice")
			return
		}
		w.Header().Set("X-Authz-Reason", "who are you")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "denied by the http authorizer")
	})}
	go httpAuthz.Serve(httpLn)
	t.Cleanup(func() { httpAuthz.Close() })

	// The gRPC authorizer.
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, grpcAuthorizer{})
	go gs.Serve(grpcLn)
	t.Cleanup(gs.Stop)

	mesh := fmt.Sprintf(`extensionProviders:
- name: http-authz
  envoyExtAuthzHttp:
    service: 127.0.0.1
    port: %d
    pathPrefix: /check
    includeRequestHeadersInCheck: [x-user]
    headersToUpstreamOnAllow: [x-authz-*]
- name: grpc-authz
  envoyExtAuthzGrpc:
    service: 127.0.0.1
    port: %d
    timeout: 5s
- name: down-authz
  envoyExtAuthzHttp:
    service: 127.0.0.1
    port: %d
    statusOnError: "503"
`, httpLn.Addr().(*net.TCPAddr).Port, grpcLn.Addr().(*net.TCPAddr).Port, closedPort(t))

	build := func(provider string) *ingress {
		t.Helper()
		bin := buildTraced(t, map[string]string{
			"gateway.yaml": shopGateway,
			"se.yaml":      staticEntry("a", "a.shop.svc.cluster.local", upstream),
			"vs.yaml":      shopRoute("a"),
			"authz.yaml": `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: istio-system}
spec:
  action: CUSTOM
  provider: {name: ` + provider + `}
  rules: [{to: [{operation: {paths: ["/private*"]}}]}]
`,
		}, mesh)
		return startIngress(t, bin, 80)
	}
	do := func(in *ingress, path string, header ...string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", in.url(80)+path, nil)
		req.Host = "shop.example.com"
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	t.Run("http", func(t *testing.T) {
		in := build("http-authz")
		if code, body, _ := do(in, "/private/a", "x-user", "alice", "authorization", "Basic YWxpY2U="); code != 200 || body != "upstream /private/a user=alice" {
			t.Errorf("allowed: %d %q, want 200 with x-authz-user from the authorizer", code, body)
		}
		code, body, h := do(in, "/private/b", "x-user", "bob")
		if code != 401 || body != "denied by the http authorizer" || h.Get("X-Authz-Reason") != "who are you" {
			t.Errorf("denied: %d %q %v, want the authorizer's 401, body and header", code, body, h)
		}
		if code, body, _ := do(in, "/public", "x-user", "bob"); code != 200 || !strings.HasPrefix(body, "upstream /public") {
			t.Errorf("not selected by the CUSTOM rule: %d %q, want 200", code, body)
		}
		want := []string{"GET shop.example.com /check/private/a", "GET shop.example.com /check/private/b"}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(httpChecks) != fmt.Sprint(want) {
			t.Errorf("checks the authorizer got: %q, want %q", httpChecks, want)
		}
		if counts := in.settledCounts(t, 3); counts["401 UAEX"] != 1 || counts["200 -"] != 2 {
			t.Errorf("istio_requests_total by code and flags: %v, want 2×200 and 1×401 UAEX", counts)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		in := build("grpc-authz")
		if code, body, _ := do(in, "/private/a", "x-user", "alice"); code != 200 || body != "upstream /private/a user=alice" {
			t.Errorf("allowed: %d %q, want 200 with x-authz-user from the authorizer", code, body)
		}
		code, body, h := do(in, "/private/b")
		if code != 401 || body != "grpc denied" || h.Get("Www-Authenticate") != "Basic" {
			t.Errorf("denied: %d %q %v, want the denial's 401, body and header", code, body, h)
		}
	})
	t.Run("down", func(t *testing.T) {
		in := build("down-authz")
		if code, _, _ := do(in, "/private/a", "x-user", "alice"); code != 503 {
			t.Errorf("authorizer down: %d, want statusOnError 503", code)
		}
		if code, _, _ := do(in, "/public"); code != 200 {
			t.Errorf("not selected: %d, want 200", code)
		}
		if counts := in.settledCounts(t, 2); counts["503 UAEX"] != 1 {
			t.Errorf("istio_requests_total by code and flags: %v, want 1×503 UAEX", counts)
		}
	})
}

// grpcAuthorizer allows x-user alice, adding x-authz-user, and denies the
// rest with 401, a body and a header.
type grpcAuthorizer struct {
	authv3.UnimplementedAuthorizationServer
}

func (grpcAuthorizer) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	if h.GetHeaders()["x-user"] == "alice" && h.GetHost() == "shop.example.com" && h.GetMethod() == "GET" {
		return &authv3.CheckResponse{
			Status: &status.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-authz-user", Value: "alice"}}},
			}},
		}, nil
	}
	return &authv3.CheckResponse{
		Status: &status.Status{Code: int32(codes.PermissionDenied)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
			Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "www-authenticate", Value: "Basic"}}},
			Body:    "grpc denied",
		}},
	}, nil
}
