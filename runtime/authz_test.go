package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"testing"
)

// The matching of each attribute, as istiod's translation and Envoy's RBAC
// filter give it. Cases cite the Istio reference:
// https://istio.io/latest/docs/reference/config/security/authorization-policy/
// https://istio.io/latest/docs/reference/config/security/conditions/

func azExact(v string) AuthzValue  { return AuthzValue{Match: AuthzMatch{Kind: AuthzExact, Value: v}} }
func azPrefix(v string) AuthzValue { return AuthzValue{Match: AuthzMatch{Kind: AuthzPrefix, Value: v}} }
func azSuffix(v string) AuthzValue { return AuthzValue{Match: AuthzMatch{Kind: AuthzSuffix, Value: v}} }
func azPresent() AuthzValue        { return AuthzValue{Match: AuthzMatch{Kind: AuthzPresent}} }

func principal(iss, sub AuthzMatch) AuthzValue { return AuthzValue{Match: iss, Sub: &sub} }

func authzReq(t *testing.T, mutate func(r *http.Request)) *http.Request {
	t.Helper()
	r := &http.Request{Method: "GET", Host: "shop.example.com", URL: &url.URL{Path: "/"}, RequestURI: "/",
		Header: http.Header{}, RemoteAddr: "10.1.2.3:4000"}
	if mutate != nil {
		mutate(r)
	}
	return r
}

func withCert(uris ...string) func(*http.Request) {
	return func(r *http.Request) {
		c := &x509.Certificate{}
		for _, s := range uris {
			u, _ := url.Parse(s)
			c.URIs = append(c.URIs, u)
		}
		r.TLS = &tls.ConnectionState{ServerName: "shop.example.com", PeerCertificates: []*x509.Certificate{c}}
	}
}

func TestAuthzConditions(t *testing.T) {
	alice := &Identity{Principal: "https://issuer.example.com/alice", Audiences: []string{"shop", "api"}, Presenter: "web",
		Claims: map[string]any{"iss": "https://issuer.example.com", "sub": "alice",
			"groups": []any{"dev", "admin"}, "realm": map[string]any{"role": "owner"}, "level": 3.0}}
	cases := []struct {
		name string
		cond AuthzCondition
		req  func(*http.Request)
		id   *Identity
		want bool
	}{
		// principals: "spiffe://<value>" against the certificate's URI SAN.
		{"principal exact", AuthzCondition{Attr: AttrSourcePrincipal, Values: []AuthzValue{azExact("cluster.local/ns/shop/sa/web")}},
			withCert("spiffe://cluster.local/ns/shop/sa/web"), nil, true},
		{"principal other", AuthzCondition{Attr: AttrSourcePrincipal, Values: []AuthzValue{azExact("cluster.local/ns/shop/sa/web")}},
			withCert("spiffe://cluster.local/ns/shop/sa/db"), nil, false},
		{"principal without SPIFFE URI never matches", AuthzCondition{Attr: AttrSourcePrincipal, Values: []AuthzValue{azPresent()}},
			withCert("https://cluster.local/ns/shop/sa/web"), nil, false},
		{"no certificate: notPrincipals holds", AuthzCondition{Attr: AttrSourcePrincipal, NotValues: []AuthzValue{azPresent()}},
			nil, nil, true},
		{"principal suffix", AuthzCondition{Attr: AttrSourcePrincipal, Values: []AuthzValue{azSuffix("/sa/web")}},
			withCert("spiffe://cluster.local/ns/shop/sa/web"), nil, true},
		// namespaces: istiod's regex ".*/ns/<value>/.*" over the principal.
		{"namespace", AuthzCondition{Attr: AttrSourceNamespace, Values: []AuthzValue{{Match: AuthzMatch{Kind: AuthzRegex, Value: ".*/ns/shop/.*"}}}},
			withCert("spiffe://cluster.local/ns/shop/sa/web"), nil, true},
		{"namespace other", AuthzCondition{Attr: AttrSourceNamespace, Values: []AuthzValue{{Match: AuthzMatch{Kind: AuthzRegex, Value: ".*/ns/shop/.*"}}}},
			withCert("spiffe://cluster.local/ns/shopping/sa/web"), nil, false},
		// requestPrincipals: issuer and subject matched apart.
		{"request principal exact", AuthzCondition{Attr: AttrRequestPrincipal, Values: []AuthzValue{
			principal(AuthzMatch{Value: "https://issuer.example.com"}, AuthzMatch{Value: "alice"})}}, nil, alice, true},
		{"request principal any", AuthzCondition{Attr: AttrRequestPrincipal, Values: []AuthzValue{
			principal(AuthzMatch{Kind: AuthzPresent}, AuthzMatch{Kind: AuthzPresent})}}, nil, alice, true},
		{"no token: requestPrincipals * does not match", AuthzCondition{Attr: AttrRequestPrincipal, Values: []AuthzValue{
			principal(AuthzMatch{Kind: AuthzPresent}, AuthzMatch{Kind: AuthzPresent})}}, nil, nil, false},
		{"no token: notRequestPrincipals * holds", AuthzCondition{Attr: AttrRequestPrincipal, NotValues: []AuthzValue{
			principal(AuthzMatch{Kind: AuthzPresent}, AuthzMatch{Kind: AuthzPresent})}}, nil, nil, true},
		{"request principal other subject", AuthzCondition{Attr: AttrRequestPrincipal, Values: []AuthzValue{
			principal(AuthzMatch{Value: "https://issuer.example.com"}, AuthzMatch{Value: "bob"})}}, nil, alice, false},
		// claims: a string, or a list holding a match; nested with [a][b].
		{"claim in list", AuthzCondition{Attr: AttrRequestClaim, Key: []string{"groups"}, Values: []AuthzValue{azExact("admin")}}, nil, alice, true},
		{"nested claim", AuthzCondition{Attr: AttrRequestClaim, Key: []string{"realm", "role"}, Values: []AuthzValue{azPrefix("own")}}, nil, alice, true},
		{"non-string claim never matches", AuthzCondition{Attr: AttrRequestClaim, Key: []string{"level"}, Values: []AuthzValue{azPresent()}}, nil, alice, false},
		{"absent claim: notValues holds", AuthzCondition{Attr: AttrRequestClaim, Key: []string{"team"}, NotValues: []AuthzValue{azExact("x")}}, nil, alice, true},
		{"audiences", AuthzCondition{Attr: AttrRequestAudiences, Values: []AuthzValue{azExact("api")}}, nil, alice, true},
		{"presenter", AuthzCondition{Attr: AttrRequestPresenter, Values: []AuthzValue{azExact("mobile")}}, nil, alice, false},
		// headers: present with "*"; several fields joined with ",".
		{"header present", AuthzCondition{Attr: AttrRequestHeader, Key: []string{"X-Tenant"}, Values: []AuthzValue{azPresent()}},
			func(r *http.Request) { r.Header.Set("X-Tenant", "") }, nil, true},
		{"header joined", AuthzCondition{Attr: AttrRequestHeader, Key: []string{"X-Tenant"}, Values: []AuthzValue{azExact("a,b")}},
			func(r *http.Request) { r.Header["X-Tenant"] = []string{"a", "b"} }, nil, true},
		// hosts: case-insensitive; the port is part of the Host, as in Envoy.
		{"host folds case", AuthzCondition{Attr: AttrHost, Values: []AuthzValue{azExact("shop.example.com")}},
			func(r *http.Request) { r.Host = "SHOP.Example.com" }, nil, true},
		{"host suffix folds case", AuthzCondition{Attr: AttrHost, Values: []AuthzValue{azSuffix(".example.com")}},
			func(r *http.Request) { r.Host = "A.EXAMPLE.COM" }, nil, true},
		{"host with port is another host", AuthzCondition{Attr: AttrHost, Values: []AuthzValue{azExact("shop.example.com")}},
			func(r *http.Request) { r.Host = "shop.example.com:8080" }, nil, false},
		// methods are case-sensitive.
		{"method", AuthzCondition{Attr: AttrMethod, Values: []AuthzValue{azExact("get")}}, nil, nil, false},
		{"sni", AuthzCondition{Attr: AttrSNI, Values: []AuthzValue{azSuffix(".example.com")}}, withCert(), nil, true},
		{"no TLS: no sni", AuthzCondition{Attr: AttrSNI, Values: []AuthzValue{azPresent()}}, nil, nil, false},
		{"source ip", AuthzCondition{Attr: AttrSourceIP, Values: []AuthzValue{{IP: []byte{10, 0, 0, 0}, Bits: 8}}}, nil, nil, true},
		{"source ip v6 network", AuthzCondition{Attr: AttrSourceIP, Values: []AuthzValue{{IP: make([]byte, 16), Bits: 0}}}, nil, nil, false},
		{"values and notValues both hold", AuthzCondition{Attr: AttrMethod, Values: []AuthzValue{azPrefix("G")}, NotValues: []AuthzValue{azExact("GET")}}, nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := authzReq(t, c.req)
			q := newAuthzRequest(r, "/", 80, c.id)
			if got := c.cond.holds(q); got != c.want {
				t.Errorf("holds = %v, want %v", got, c.want)
			}
		})
	}
}

// TestAuthzOrder: DENY before ALLOW; no ALLOW policy allows; an ALLOW
// policy with no rule matching denies; AUDIT never decides; the rule a
// denial names is the first by Envoy's policy name.
// https://istio.io/latest/docs/concepts/security/#authorization-policies
func TestAuthzOrder(t *testing.T) {
	getOnly := []AuthzClause{{Conditions: []AuthzCondition{{Attr: AttrMethod, Values: []AuthzValue{azExact("GET")}}}}}
	everything := AuthzRule{Name: "ns[a]-policy[all]-rule[0]"}
	cases := []struct {
		name       string
		a          Authz
		allowed    bool
		rule       string
		audited    int
		wantDetail string
	}{
		{"no policy", Authz{}, true, "", 0, ""},
		{"allow nothing", Authz{AllowPolicies: true}, false, "", 0, "rbac_access_denied_matched_policy[none]"},
		{"allow matching", Authz{AllowPolicies: true, Allow: []AuthzRule{{Name: "ns[a]-policy[get]-rule[0]", To: getOnly}}},
			true, "ns[a]-policy[get]-rule[0]", 0, ""},
		{"deny wins over allow", Authz{AllowPolicies: true, Allow: []AuthzRule{everything},
			Deny: []AuthzRule{{Name: "ns[a]-policy[a-deny]-rule[0]", To: getOnly}, {Name: "ns[a]-policy[b-deny]-rule[0]"}}},
			false, "ns[a]-policy[a-deny]-rule[0]", 0, "rbac_access_denied_matched_policy[ns[a]-policy[a-deny]-rule[0]]"},
		{"audit is not enforced", Authz{Audit: []AuthzRule{everything}}, true, "", 1, ""},
		{"deny rule that does not match", Authz{Deny: []AuthzRule{{Name: "x", To: []AuthzClause{{Conditions: []AuthzCondition{
			{Attr: AttrMethod, Values: []AuthzValue{azExact("POST")}}}}}}}}, true, "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.a.decide(newAuthzRequest(authzReq(t, nil), "/", 80, nil))
			name := ""
			if d.Rule != nil {
				name = d.Rule.Name
			}
			if d.Allowed != c.allowed || name != c.rule || len(d.Audited) != c.audited {
				t.Errorf("decision = allowed %v rule %q audited %d, want %v %q %d", d.Allowed, name, len(d.Audited), c.allowed, c.rule, c.audited)
			}
			if !c.allowed && d.Details() != c.wantDetail {
				t.Errorf("details = %q, want %q", d.Details(), c.wantDetail)
			}
		})
	}
}

// TestAuthzCheck: a table no build writes stops the start.
func TestAuthzCheck(t *testing.T) {
	bad := []Authz{
		{Deny: []AuthzRule{{When: []AuthzCondition{{Attr: AttrPath, Values: []AuthzValue{{Match: AuthzMatch{Kind: AuthzRegex, Value: "("}}}}}}}},
		{Deny: []AuthzRule{{When: []AuthzCondition{{Attr: AttrRemoteIP, Values: []AuthzValue{{IP: []byte{1, 2, 3}, Bits: 8}}}}}}},
		{Allow: []AuthzRule{{From: []AuthzClause{{Conditions: []AuthzCondition{{Attr: AttrSourceIP, NotValues: []AuthzValue{{IP: []byte{1, 2, 3, 4}, Bits: 33}}}}}}}}},
		{Deny: []AuthzRule{{When: []AuthzCondition{{Attr: AttrRequestPrincipal, Values: []AuthzValue{azExact("x")}}}}}},
	}
	for i, a := range bad {
		if err := a.check(); err == nil {
			t.Errorf("case %d: check passed", i)
		}
	}
	good := Authz{Deny: []AuthzRule{{When: []AuthzCondition{{Attr: AttrRemoteIP, Values: []AuthzValue{{IP: []byte{10, 0, 0, 0}, Bits: 8}}}}}}}
	if err := good.check(); err != nil {
		t.Error(err)
	}
}

// BenchmarkAuthzDecide is the step's cost per request with the policies of
// examples/security-authz: a DENY rule on hosts and methods, an ALLOW
// policy with a notHosts rule and an ipBlocks rule.
func BenchmarkAuthzDecide(b *testing.B) {
	hosts := AuthzCondition{Attr: AttrHost, Values: []AuthzValue{azExact("httpbin.example.com"), azPrefix("httpbin.example.com:")}}
	notHosts := AuthzCondition{Attr: AttrHost, NotValues: hosts.Values}
	a := &Authz{
		Deny: []AuthzRule{{Name: "deny", To: []AuthzClause{{Conditions: []AuthzCondition{hosts,
			{Attr: AttrMethod, Values: []AuthzValue{azExact("DELETE")}}}}}}},
		AllowPolicies: true,
		Allow: []AuthzRule{
			{Name: "other-hosts", To: []AuthzClause{{Conditions: []AuthzCondition{notHosts}}}},
			{Name: "allow-list", From: []AuthzClause{{Conditions: []AuthzCondition{{Attr: AttrSourceIP, Values: []AuthzValue{{IP: []byte{127, 0, 0, 1}, Bits: 32}}}}}}},
		},
	}
	r := &http.Request{Method: "GET", Host: "httpbin.example.com", URL: &url.URL{Path: "/get"}, RequestURI: "/get",
		Header: http.Header{}, RemoteAddr: "127.0.0.1:40000"}
	b.ReportAllocs()
	for b.Loop() {
		if d := a.decide(newAuthzRequest(r, "/get", 80, nil)); !d.Allowed {
			b.Fatal("denied")
		}
	}
}
