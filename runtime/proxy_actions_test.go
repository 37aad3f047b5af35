package runtime

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRedirectLocation(t *testing.T) {
	cases := []struct {
		rd     Redirect
		target string
		host   string
		tls    bool
		want   string
	}{
		{Redirect{Path: "/x"}, "/a?q=1", "h.com", false, "http://h.com/x?q=1"},
		{Redirect{Path: "/x?y"}, "/a?q=1", "h.com", false, "http://h.com/x?y"},
		{Redirect{Scheme: "https"}, "/a", "h.com:80", false, "https://h.com/a"},
		{Redirect{Scheme: "https"}, "/a", "h.com:8080", false, "https://h.com:8080/a"},
		{Redirect{Scheme: "http"}, "/a", "h.com:443", true, "http://h.com/a"},
		// istiod drops port 443 with scheme https, so Envoy keeps :8080.
		{Redirect{Scheme: "https", Port: 443}, "/a", "h.com:8080", false, "https://h.com:8080/a"},
		{Redirect{Port: 9000}, "/a", "[::1]:8080", false, "http://[::1]:9000/a"},
		{Redirect{Authority: "o.com"}, "/a", "h.com:8080", false, "http://o.com/a"},
		{Redirect{RewritePrefix: true, MatchedPrefix: "/old/", PrefixRewrite: "/new/"}, "/old/x?k", "h.com", false, "http://h.com/new/x?k"},
		{Redirect{}, "/a/../b", "h.com", false, "http://h.com/b"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", c.target, nil)
		r.Host = c.host
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := c.rd.Location(r); got != c.want {
			t.Errorf("%+v %s %s: Location %q, want %q", c.rd, c.host, c.target, got, c.want)
		}
	}
}

func TestRewritePath(t *testing.T) {
	re := &Route{Rewrite: &Rewrite{RegexMatch: `^/r/([^/]+)/(.*)$`, RegexSubst: `/\2/\1$x`}}
	if err := re.prepareActions(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rw     *Rewrite
		target string
		want   string
	}{
		{&Rewrite{URI: "/v1/", MatchedPrefix: "/api/"}, "/api/x?q", "/v1/x"},
		{&Rewrite{URI: "/", MatchedPrefix: "/foo"}, "/foo/bar", "//bar"},
		{&Rewrite{URI: "/t", WholePath: true}, "/anything/else", "/t"},
		{re.Rewrite, "/r/a/b/c", "/b/c/a$x"},
		{&Rewrite{Authority: "x"}, "/p", ""},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", c.target, nil)
		if got := c.rw.RewrittenPath(r); got != c.want {
			t.Errorf("%+v on %s: %q, want %q", c.rw, c.target, got, c.want)
		}
	}
}

func TestShadowHost(t *testing.T) {
	for in, want := range map[string]string{
		"a.com":       "a.com-shadow",
		"a.com:8080":  "a.com-shadow:8080",
		"[::1]:80":    "[::1]-shadow:80",
		"10.0.0.1:80": "10.0.0.1-shadow:80",
	} {
		if got := shadowHost(in); got != want {
			t.Errorf("shadowHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderOpsOrder(t *testing.T) {
	ops := HeaderOps{
		Remove: []string{"x-gone", "x-set"},
		Set:    []HeaderValue{{Name: "x-set", Value: "s"}},
		Add:    []HeaderValue{{Name: "x-add", Value: "2"}, {Name: "x-new", Value: "n"}},
	}
	ops.prepare()
	h := http.Header{"X-Gone": {"1"}, "X-Set": {"old"}, "X-Add": {"1"}}
	ops.apply(h)
	if _, ok := h["X-Gone"]; ok {
		t.Error("x-gone not removed")
	}
	if got := h["X-Set"]; len(got) != 1 || got[0] != "s" {
		t.Errorf("x-set = %q, want [s]", got)
	}
	if got := h["X-Add"]; len(got) != 2 || got[1] != "2" {
		t.Errorf("x-add = %q, want [1 2]", got)
	}
	if got := h["X-New"]; len(got) != 1 || got[0] != "n" {
		t.Errorf("x-new = %q, want [n]", got)
	}
	// The shared value slices are never appended to in place.
	h2 := http.Header{}
	ops.apply(h2)
	h2["X-Set"] = append(h2["X-Set"], "more")
	if ops.Set[0].values[0] != "s" || len(ops.Set[0].values) != 1 {
		t.Error("applying ops changed the shared values")
	}
}

func TestRetryPolicyConditions(t *testing.T) {
	p := RetryPolicy{Attempts: 1, On: []string{"gateway-error", "retriable-status-codes", "unavailable"}, StatusCodes: []int{418}}
	if err := p.prepare(); err != nil {
		t.Fatal(err)
	}
	resp := func(code int, grpc string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if grpc != "" {
			r.Header.Set("Grpc-Status", grpc)
		}
		return r
	}
	for _, c := range []struct {
		r    *http.Response
		want bool
	}{
		{resp(502, ""), true}, {resp(503, ""), true}, {resp(504, ""), true}, {resp(500, ""), false},
		{resp(418, ""), true}, {resp(409, ""), false}, {resp(200, "14"), true}, {resp(200, "13"), false},
	} {
		if got := p.retryResponse(c.r); got != c.want {
			t.Errorf("status %d grpc %q: retry %t, want %t", c.r.StatusCode, c.r.Header.Get("Grpc-Status"), got, c.want)
		}
	}
	if !p.retryFailure(true, false) || !p.retryFailure(false, true) {
		t.Error("gateway-error retries connect failures and per-try timeouts")
	}
	bad := RetryPolicy{On: []string{"sometimes"}}
	if bad.prepare() == nil {
		t.Error("an unknown condition passed Prepare")
	}
	if defaultRetry.retryResponse(resp(503, "")) {
		t.Error("Istio's default policy retried a 503")
	}
	if !defaultRetry.retryFailure(true, false) {
		t.Error("Istio's default policy did not retry a connect failure")
	}
}
