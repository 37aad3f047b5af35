package jwt

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/internal/testjwt"
)

// FuzzAuthenticate feeds token inputs to the whole authenticator: a
// malformed JWT must never crash it, and no input it did not sign can
// prove an identity other than the one the one valid seed carries.
func FuzzAuthenticate(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	s := testjwt.Key{Alg: jose.EdDSA, KID: "fuzz", Signer: key}
	valid := s.Sign(f, map[string]any{"iss": issuer, "sub": "fuzz", "exp": time.Now().Add(24 * time.Hour).Unix(),
		"aud": []string{"a"}, "scope": "x y", "n": map[string]any{"k": 1.5}})
	rule := defaultRule(testjwt.JWKS(f, s))
	rule.FromCookies = []string{"tok"}
	rule.OutputClaimToHeaders = []ClaimHeader{{Header: "x-k", Claim: "n.k"}}
	rule.OutputPayloadToHeader = "x-payload"
	a := New(Spec{Rules: []Rule{rule}})
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".", parts[0] + ".." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "=", "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"eyJhbGciOiJIUzI1NiJ9." + parts[1] + "." + parts[2], "e30.e30.e30", "bnVsbA.bnVsbA.bnVsbA",
		"eyJhbGciOjF9.e30.", "eyJhbGciOiJFZERTQSIsImtpZCI6MX0.e30.", parts[0] + ".W10." + parts[2],
	} {
		f.Add(seed, "Bearer ")
	}
	f.Fuzz(func(t *testing.T, tok, prefix string) {
		for _, r := range []*http.Request{
			request("/", "Authorization", prefix+tok),
			request("/", "Cookie", "tok="+tok),
		} {
			id, err := a.Authenticate(r)
			if id != nil && (err != nil || id.Principal != issuer+"/fuzz") {
				t.Fatalf("token %q proved %+v (err %v)", tok, id, err)
			}
		}
	})
}
