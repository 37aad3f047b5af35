package jwt

import (
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/internal/testjwt"
	"github.com/gwc-dev/gwc/runtime"
)

const issuer = "testing@secure.istio.io"

func claimsFor(sub string) map[string]any {
	return map[string]any{"iss": issuer, "sub": sub, "exp": time.Now().Add(time.Hour).Unix(),
		"group": "admin", "scope": "read write", "nested": map[string]any{"key": "v", "n": 7, "b": true}}
}

func defaultRule(keys string) Rule {
	return Rule{ID: "test", Issuer: issuer, JWKS: keys,
		FromHeaders: []Header{{Name: "Authorization", Prefix: "Bearer "}}, FromParams: []string{"access_token"}}
}

func request(target string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func reason(err error) string {
	var ae *runtime.AuthnError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestEveryAlgorithm(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			s := testjwt.New(t, alg, "k1")
			other := testjwt.New(t, alg, "k1")
			a := New(Spec{Rules: []Rule{defaultRule(testjwt.JWKS(t, s))}})
			id, err := a.Authenticate(request("/", "Authorization", "Bearer "+s.Sign(t, claimsFor("alice"))))
			if err != nil || id == nil || id.Principal != issuer+"/alice" {
				t.Fatalf("valid token: id %+v, err %v", id, err)
			}
			_, err = a.Authenticate(request("/", "Authorization", "Bearer "+other.Sign(t, claimsFor("alice"))))
			if reason(err) != statusVerification {
				t.Errorf("token signed by another key: %q, want %q", reason(err), statusVerification)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	s := testjwt.New(t, jose.ES256, "k1")
	rule := defaultRule(testjwt.JWKS(t, s))
	rule.Audiences = []string{"https://shop.example.com/"}
	a := New(Spec{Rules: []Rule{rule}})
	with := func(edit func(map[string]any)) string {
		c := claimsFor("bob")
		c["aud"] = "shop.example.com"
		edit(c)
		return s.Sign(t, c)
	}
	hs := "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ0ZXN0aW5nQHNlY3VyZS5pc3Rpby5pbyJ9.c2ln"
	tests := []struct {
		name, token, want string
		status            int
	}{
		{"ok", with(func(map[string]any) {}), "", 0},
		{"expired", with(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }), statusExpired, 401},
		{"within the clock skew", with(func(c map[string]any) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() }), "", 0},
		{"not yet valid", with(func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }), statusNotYetValid, 401},
		{"other issuer", with(func(c map[string]any) { c["iss"] = "someone@else" }), statusUnknownIssuer, 401},
		{"other audience", with(func(c map[string]any) { c["aud"] = []string{"bank.example.com"} }), statusAudience, 403},
		{"exp not a number", with(func(c map[string]any) { c["exp"] = "soon" }), "Jwt payload [exp] field is not an integer", 401},
		{"two parts", "a.b", statusBadFormat, 401},
		{"garbage header", "a!b.e30.c2ln", statusHeaderBase64, 401},
		{"HS256", hs, statusAlgUnsupported, 401},
		{"alg none", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ0ZXN0aW5nQHNlY3VyZS5pc3Rpby5pbyJ9.", statusAlgUnsupported, 401},
	}
	for _, tt := range tests {
		_, err := a.Authenticate(request("/", "Authorization", "Bearer "+tt.token))
		if got := reason(err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
			continue
		}
		var ae *runtime.AuthnError
		if tt.status != 0 && (!errors.As(err, &ae) || ae.Status != tt.status) {
			t.Errorf("%s: status of %v, want %d", tt.name, err, tt.status)
		}
	}
	// A kid no key has: jwt_verify's kid/alg mismatch.
	k2 := testjwt.New(t, jose.ES256, "k2")
	c := claimsFor("x")
	c["aud"] = "shop.example.com"
	if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+k2.Sign(t, c))); reason(err) != statusKidAlgMismatch {
		t.Errorf("unknown kid: %q", reason(err))
	}
}

func TestLocationsAndOutputs(t *testing.T) {
	s := testjwt.New(t, jose.RS256, "")
	keys := testjwt.JWKS(t, s)
	tok := s.Sign(t, claimsFor("carol"))

	t.Run("no token passes without identity", func(t *testing.T) {
		a := New(Spec{Rules: []Rule{defaultRule(keys)}})
		id, err := a.Authenticate(request("/", "Authorization", "Basic abc"))
		if id != nil || err != nil {
			t.Errorf("got %v, %v", id, err)
		}
	})
	t.Run("query parameter, removed upstream", func(t *testing.T) {
		a := New(Spec{Rules: []Rule{defaultRule(keys)}})
		r := request("/p?a=1&access_token=" + tok + "&b=2")
		id, err := a.Authenticate(r)
		if err != nil || id == nil {
			t.Fatalf("got %v, %v", id, err)
		}
		if r.URL.RawQuery != "a=1&b=2" {
			t.Errorf("query upstream %q", r.URL.RawQuery)
		}
	})
	t.Run("header removed unless forwarded; outputs", func(t *testing.T) {
		rule := defaultRule(keys)
		rule.OutputPayloadToHeader = "x-jwt-payload"
		rule.OutputClaimToHeaders = []ClaimHeader{{Header: "x-group", Claim: "group"}, {Header: "x-n", Claim: "nested.n"},
			{Header: "x-b", Claim: "nested.b"}, {Header: "x-obj", Claim: "nested"}}
		a := New(Spec{Rules: []Rule{rule}})
		r := request("/", "Authorization", "Bearer "+tok, "X-Obj", "spoofed")
		id, err := a.Authenticate(r)
		if err != nil || id == nil {
			t.Fatalf("got %v, %v", id, err)
		}
		if _, ok := r.Header["Authorization"]; ok {
			t.Error("token forwarded")
		}
		payload, _ := base64.RawURLEncoding.DecodeString(r.Header.Get("X-Jwt-Payload"))
		if !strings.Contains(string(payload), `"sub":"carol"`) {
			t.Errorf("payload header %q", payload)
		}
		if r.Header.Get("X-Group") != "admin" || r.Header.Get("X-N") != "7" || r.Header.Get("X-B") != "true" {
			t.Errorf("claim headers %v", r.Header)
		}
		if _, ok := r.Header["X-Obj"]; ok {
			t.Error("a client's x-obj reached the upstream")
		}
		if got, _ := Claim(id.Claims, "scope"); len(got.([]any)) != 2 {
			t.Errorf("scope not split: %v", got)
		}
		rule.ForwardOriginalToken = true
		a = New(Spec{Rules: []Rule{rule}})
		r = request("/", "Authorization", "Bearer "+tok)
		if _, err := a.Authenticate(r); err != nil || r.Header.Get("Authorization") == "" {
			t.Errorf("forwardOriginalToken: %v, %v", err, r.Header)
		}
	})
	t.Run("custom header and cookie", func(t *testing.T) {
		rule := defaultRule(keys)
		rule.FromHeaders = []Header{{Name: "x-jwt-assertion"}}
		rule.FromParams = nil
		rule.FromCookies = []string{"session"}
		a := New(Spec{Rules: []Rule{rule}})
		if id, err := a.Authenticate(request("/", "X-Jwt-Assertion", tok)); err != nil || id == nil {
			t.Errorf("header: %v %v", id, err)
		}
		if id, err := a.Authenticate(request("/", "Cookie", "a=b; session="+tok)); err != nil || id == nil {
			t.Errorf("cookie: %v %v", id, err)
		}
		// The default location is not read any more.
		if id, err := a.Authenticate(request("/", "Authorization", "Bearer garbage")); err != nil || id != nil {
			t.Errorf("default location: %v %v", id, err)
		}
	})
	t.Run("two rules: any verifies", func(t *testing.T) {
		s2 := testjwt.New(t, jose.ES256, "")
		r2 := defaultRule(testjwt.JWKS(t, s2))
		r2.Issuer = "other@issuer"
		a := New(Spec{Rules: []Rule{r2, defaultRule(keys)}})
		if id, err := a.Authenticate(request("/", "Authorization", "Bearer "+tok)); err != nil || id == nil {
			t.Errorf("token of the second rule: %v %v", id, err)
		}
		c := claimsFor("dave")
		c["iss"] = "other@issuer"
		if id, err := a.Authenticate(request("/", "Authorization", "Bearer "+s2.Sign(t, c))); err != nil || id == nil || id.Principal != "other@issuer/dave" {
			t.Errorf("token of the first rule: %v %v", id, err)
		}
		if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+s.Sign(t, c))); reason(err) != statusKidAlgMismatch {
			t.Errorf("wrong key for its issuer: %q", reason(err))
		}
	})
	t.Run("CORS preflight bypasses", func(t *testing.T) {
		a := New(Spec{Rules: []Rule{defaultRule(keys)}})
		r := request("/", "Authorization", "Bearer garbage", "Origin", "https://a", "Access-Control-Request-Method", "GET")
		r.Method = http.MethodOptions
		if id, err := a.Authenticate(r); err != nil || id != nil {
			t.Errorf("preflight: %v %v", id, err)
		}
	})
}

// TestJWKSURI fetches a key set from a server on loopback, rotated while
// the test runs, and checks that neither a server down nor garbage ever
// lets a token through, and that the last good set is kept.
func TestJWKSURI(t *testing.T) {
	old, cur := testjwt.New(t, jose.RS256, "old"), testjwt.New(t, jose.RS256, "new")
	var body atomic.Value
	var status atomic.Int32
	fetched := make(chan struct{}, 100)
	status.Store(http.StatusServiceUnavailable)
	body.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { fetched <- struct{}{} }()
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	rule := defaultRule("")
	rule.JWKSURI = srv.URL + "/jwks"
	a := New(Spec{Rules: []Rule{rule}, Refresh: 10 * time.Millisecond})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Down at start: every token is refused.
	a.fetch.refresh = time.Hour
	a.Start(log)
	<-fetched
	if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+old.Sign(t, claimsFor("a")))); reason(err) != statusFetchFailed {
		t.Fatalf("before any fetch: %q", reason(err))
	}
	a.Stop()

	// Up: the old key verifies.
	status.Store(http.StatusOK)
	body.Store(testjwt.JWKS(t, old))
	a.fetch.refresh = 10 * time.Millisecond
	a.Start(log)
	defer a.Stop()
	if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+old.Sign(t, claimsFor("a")))); err != nil {
		t.Fatalf("after the first fetch: %v", err)
	}
	// Garbage, then down: the old set is kept, and a token of a key it
	// does not have is refused.
	for _, broken := range []struct {
		status int
		body   string
	}{{http.StatusOK, `{"keys": "no"}`}, {http.StatusOK, "<html>"}, {http.StatusInternalServerError, testjwt.JWKS(t, cur)}} {
		status.Store(int32(broken.status))
		body.Store(broken.body)
		drain(fetched)
		<-fetched
		<-fetched // a whole fetch saw the broken answer
		if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+old.Sign(t, claimsFor("a")))); err != nil {
			t.Errorf("%d %q: the last good set was dropped: %v", broken.status, broken.body, err)
		}
		if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+cur.Sign(t, claimsFor("a")))); err == nil {
			t.Errorf("%d %q: a token of an unknown key passed", broken.status, broken.body)
		}
	}
	// Rotated: the new key verifies (once a refresh has stored it: the
	// fetches are sequential, so the one after a fetch that saw the new
	// set starts only once it is stored), the old one no more.
	status.Store(http.StatusOK)
	body.Store(testjwt.JWKS(t, cur))
	var err error
	for range 50 {
		<-fetched
		if _, err = a.Authenticate(request("/", "Authorization", "Bearer "+cur.Sign(t, claimsFor("a")))); err == nil {
			break
		}
	}
	if err != nil {
		t.Errorf("after the rotation: %v", err)
	}
	if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+old.Sign(t, claimsFor("a")))); reason(err) != statusKidAlgMismatch {
		t.Errorf("old key after the rotation: %q", reason(err))
	}
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// TestOpenIDDiscovery finds the key set through the issuer's OpenID
// configuration, as istiod does for a rule without jwks or jwksUri.
func TestOpenIDDiscovery(t *testing.T) {
	s := testjwt.New(t, jose.ES384, "d")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"issuer": "`+srv.URL+`", "jwks_uri": "`+srv.URL+`/keys"}`)
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, testjwt.JWKS(t, s)) })
	rule := defaultRule("")
	rule.Issuer = srv.URL
	rule.DiscoveryURI = srv.URL + "/.well-known/openid-configuration"
	a := New(Spec{Rules: []Rule{rule}})
	a.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Stop()
	c := claimsFor("erin")
	c["iss"] = srv.URL
	if id, err := a.Authenticate(request("/", "Authorization", "Bearer "+s.Sign(t, c))); err != nil || id == nil {
		t.Errorf("token of the discovered key set: %v, %v", id, err)
	}
}

// TestJWKSTimeout: a key server that never answers does not hold the
// start past the rule's timeout, and its tokens are refused.
func TestJWKSTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	rule := defaultRule("")
	rule.JWKSURI = srv.URL
	rule.Timeout = 50 * time.Millisecond
	a := New(Spec{Rules: []Rule{rule}})
	a.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Stop()
	s := testjwt.New(t, jose.ES256, "k")
	if _, err := a.Authenticate(request("/", "Authorization", "Bearer "+s.Sign(t, claimsFor("x")))); reason(err) != statusFetchFailed {
		t.Errorf("token with the key server hanging: %q", reason(err))
	}
}
