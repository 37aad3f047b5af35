package jwt

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

// Authenticator is runtime.Authenticator for a Spec.
type Authenticator struct {
	spec Spec
	// inline[i] is rule i's inline key set; remotes[i] the remote one,
	// shared by the rules of the same URI; one of them is nil.
	inline  []*keySet
	remotes []*remote
	fetch   fetcher
	// sanitize are the headers the rules write, removed from every
	// request first so a client cannot pass them off (Envoy's
	// sanitizeHeaders), canonical.
	sanitize []string
	now      func() time.Time
}

var (
	_ runtime.Authenticator = (*Authenticator)(nil)
	_ runtime.AuthnStarter  = (*Authenticator)(nil)
)

// New returns the Authenticator of s; key sets fetched from a jwksUri
// are only fetched once Start runs.
func New(s Spec) *Authenticator {
	a := &Authenticator{spec: s, now: time.Now}
	a.fetch.refresh = s.Refresh
	if a.fetch.refresh <= 0 {
		a.fetch.refresh = defaultRefresh
	}
	// No proxy from the environment: the gateway reaches the key server
	// itself, as istiod does from the cluster.
	a.fetch.client = &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true}}
	byURI := map[string]*remote{}
	for i := range s.Rules {
		r := &s.Rules[i]
		var ks *keySet
		var rm *remote
		if r.JWKS != "" {
			// Checked at compile time; a set that fails here leaves the
			// rule without keys, so its tokens are refused.
			ks, _ = parseKeySet([]byte(r.JWKS))
		} else if uri := r.JWKSURI + r.DiscoveryURI; uri != "" {
			if rm = byURI[uri]; rm == nil {
				timeout := r.Timeout
				if timeout <= 0 {
					timeout = 5 * time.Second // Istio's default jwtRules timeout
				}
				rm = &remote{uri: uri, discover: r.JWKSURI == "", timeout: timeout}
				byURI[uri] = rm
				a.fetch.remotes = append(a.fetch.remotes, rm)
			}
		}
		a.inline = append(a.inline, ks)
		a.remotes = append(a.remotes, rm)
		if r.OutputPayloadToHeader != "" {
			a.sanitize = append(a.sanitize, http.CanonicalHeaderKey(r.OutputPayloadToHeader))
		}
		for _, c := range r.OutputClaimToHeaders {
			a.sanitize = append(a.sanitize, http.CanonicalHeaderKey(c.Header))
		}
	}
	return a
}

// Spec returns the Spec a was made from, for the printer and describe.
func (a *Authenticator) Spec() Spec { return a.spec }

// Start fetches the remote key sets once and keeps refreshing them.
func (a *Authenticator) Start(log *slog.Logger) { a.fetch.start(log) }

// Stop ends the refreshes.
func (a *Authenticator) Stop() { a.fetch.stop() }

func (a *Authenticator) keys(i int) *keySet {
	if rm := a.remotes[i]; rm != nil {
		return rm.keys.Load()
	}
	return a.inline[i]
}

// location is where a token was found, to remove it once verified.
type location struct {
	header string // canonical header name, or ""
	param  string // query parameter name, or ""
}

type found struct {
	raw string
	at  location
}

// Authenticate applies Istio's requirement on the rules (policy_applier.go):
// with allow_missing per rule and requires_any over them, a request passes
// when some rule verifies the token(s) at its locations or no rule finds a
// token at all; otherwise it is refused with the failing rule's status.
// A CORS preflight passes untouched (bypass_cors_preflight).
func (a *Authenticator) Authenticate(r *http.Request) (*runtime.Identity, error) {
	for _, h := range a.sanitize {
		delete(r.Header, h)
	}
	if isPreflight(r) {
		return nil, nil
	}
	now := a.now()
	var (
		id       *runtime.Identity
		failure  *runtime.AuthnError
		anyToken bool
		query    url.Values // decoded once, when a rule reads parameters
	)
	for i := range a.spec.Rules {
		rule := &a.spec.Rules[i]
		tokens := extract(r, rule, &query)
		if len(tokens) == 0 {
			continue
		}
		anyToken = true
		var first *token
		var bad *runtime.AuthnError
		for _, f := range tokens {
			t, err := verify(f.raw, rule, a.keys(i), now)
			if err != nil {
				bad = err
				break
			}
			if first == nil {
				first = t
			}
		}
		if bad != nil {
			if failure == nil || failure.Reason == statusUnknownIssuer && bad.Reason != statusUnknownIssuer {
				failure = bad
			}
			continue
		}
		output(r, rule, first, tokens)
		if id == nil {
			normalize(first.claims, rule.SpaceDelimitedClaims)
			id = &runtime.Identity{Principal: first.iss + "/" + first.sub, Audiences: first.aud,
				Presenter: first.azp, Claims: first.claims}
		}
	}
	switch {
	case id != nil:
		return id, nil
	case !anyToken:
		return nil, nil
	}
	return nil, failure
}

// isPreflight is Envoy's isCorsPreflightRequest.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// extract finds rule's tokens as Envoy's extractor does: every value of
// each header (after the prefix, wherever it is in the value), the first
// value of each query parameter (decoded), each cookie.
func extract(r *http.Request, rule *Rule, query *url.Values) []found {
	var out []found
	for _, h := range rule.FromHeaders {
		key := http.CanonicalHeaderKey(h.Name)
		for _, v := range r.Header[key] {
			if h.Prefix != "" {
				i := strings.Index(v, h.Prefix)
				if i < 0 {
					continue
				}
				v = tokenAfter(v, i+len(h.Prefix))
			}
			out = append(out, found{raw: v, at: location{header: key}})
		}
	}
	if len(rule.FromParams) > 0 && r.URL != nil && r.URL.RawQuery != "" {
		if *query == nil {
			*query, _ = url.ParseQuery(r.URL.RawQuery)
		}
		for _, p := range rule.FromParams {
			if vs := (*query)[p]; len(vs) > 0 {
				out = append(out, found{raw: vs[0], at: location{param: p}})
			}
		}
	}
	for _, name := range rule.FromCookies {
		if c, err := r.Cookie(name); err == nil {
			out = append(out, found{raw: c.Value})
		}
	}
	return out
}

// tokenAfter is Envoy's extractJWT: the value from the first base64url
// character or '.' at or after i; the whole value when there is none.
func tokenAfter(v string, i int) string {
	for j := i; j < len(v); j++ {
		c := v[j]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			return v[j:]
		}
	}
	return v
}

// output does what a verified rule asks for the upstream: the payload and
// claims to headers, and the token removed from its header or query
// parameter unless forwardOriginalToken (Envoy leaves cookies alone).
func output(r *http.Request, rule *Rule, t *token, tokens []found) {
	if rule.OutputPayloadToHeader != "" {
		r.Header[http.CanonicalHeaderKey(rule.OutputPayloadToHeader)] = []string{t.payload}
	}
	for _, c := range rule.OutputClaimToHeaders {
		if v, ok := claimString(t.claims, c.Claim); ok {
			r.Header[http.CanonicalHeaderKey(c.Header)] = []string{v}
		}
	}
	if rule.ForwardOriginalToken {
		return
	}
	var params []string
	for _, f := range tokens {
		switch {
		case f.at.header != "":
			delete(r.Header, f.at.header)
		case f.at.param != "" && !slices.Contains(params, f.at.param):
			params = append(params, f.at.param)
		}
	}
	if len(params) > 0 {
		removeParams(r, params)
	}
}

// removeParams drops the parameters from the raw query, leaving the others
// as they were written.
func removeParams(r *http.Request, names []string) {
	var kept []string
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil && slices.Contains(names, dk) {
			continue
		}
		kept = append(kept, kv)
	}
	r.URL.RawQuery = strings.Join(kept, "&")
	if r.RequestURI != "" {
		r.RequestURI = r.URL.RequestURI()
	}
}

// claimString is a claim as outputClaimToHeaders writes it: a string,
// number or boolean, nested names with '.'; anything else is left out.
func claimString(claims map[string]any, name string) (string, bool) {
	v, ok := Claim(claims, name)
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// Claim looks a claim up by its '.'-separated path.
func Claim(claims map[string]any, name string) (any, bool) {
	var cur any = claims
	for _, k := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Decode finds the first token r carries at a rule's locations and reads
// its claims WITHOUT verifying anything: for `gwc explain`, which has no
// keys to check it with and must say so. It returns the identity the token
// would prove if valid, and the rule whose location held it.
func (a *Authenticator) Decode(r *http.Request) (*runtime.Identity, *Rule, bool) {
	var query url.Values
	for i := range a.spec.Rules {
		rule := &a.spec.Rules[i]
		for _, f := range extract(r, rule, &query) {
			parts := strings.Split(f.raw, ".")
			if len(parts) != 3 {
				continue
			}
			pb, ok := decodeSegment(parts[1])
			if !ok {
				continue
			}
			t, bad := parseClaims(pb)
			if bad != "" {
				continue
			}
			normalize(t.claims, rule.SpaceDelimitedClaims)
			return &runtime.Identity{Principal: t.iss + "/" + t.sub, Audiences: t.aud, Presenter: t.azp, Claims: t.claims}, rule, true
		}
	}
	return nil, nil, false
}
