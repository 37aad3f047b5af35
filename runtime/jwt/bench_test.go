package jwt

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gwc-dev/gwc/internal/testjwt"
)

// BenchmarkAuthenticate is the cost a verified token adds to a request,
// per algorithm family: extraction, checks, signature, claims.
func BenchmarkAuthenticate(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			s := testjwt.New(b, alg, "k")
			a := New(Spec{Rules: []Rule{defaultRule(testjwt.JWKS(b, s))}})
			header := "Bearer " + s.Sign(b, claimsFor("bench"))
			r := request("/")
			b.ReportAllocs()
			for b.Loop() {
				r.Header["Authorization"] = []string{header}
				if id, err := a.Authenticate(r); err != nil || id == nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("no token", func(b *testing.B) {
		a := New(Spec{Rules: []Rule{defaultRule(testjwt.JWKS(b, testjwt.New(b, jose.ES256, "k")))}})
		r := request("/")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
