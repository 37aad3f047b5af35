package names

import "testing"

func TestParseCredential(t *testing.T) {
	for _, c := range []struct {
		ref  string
		want CredentialRef
		bad  bool
	}{
		{"web-cert", CredentialRef{Secret: "web-cert"}, false},
		{"web.cert-1", CredentialRef{Secret: "web.cert-1"}, false},
		{"shop/web-cert", CredentialRef{Secret: "web-cert", Namespace: "shop"}, false},
		{"kubernetes://web-cert", CredentialRef{Secret: "web-cert"}, false},
		{"kubernetes://shop/web-cert", CredentialRef{Secret: "web-cert", Namespace: "shop"}, false},
		{"kubernetes-gateway://shop/web-cert", CredentialRef{Secret: "web-cert", Namespace: "shop"}, false},
		{"kubernetes-gateway://web-cert", CredentialRef{Secret: "web-cert"}, true},
		{"builtin://", CredentialRef{Provider: "builtin://"}, false},
		{"file-cert:/etc/certs/cert.pem~/etc/certs/key.pem", CredentialRef{Provider: "file-cert:"}, false},
		{"file-root:/etc/certs/root.pem", CredentialRef{Provider: "file-root:"}, false},
		{"sds://vault/web", CredentialRef{Provider: "sds://"}, false},
		{"../outside", CredentialRef{Secret: "outside", Namespace: ".."}, true},
		{"..", CredentialRef{Secret: ".."}, true},
		{"a/b/c", CredentialRef{}, true},
		{"/etc/passwd", CredentialRef{Secret: "etc/passwd"}, true},
		{"Web-Cert", CredentialRef{Secret: "Web-Cert"}, true},
		{"", CredentialRef{}, true},
		{"kubernetes://shop/../x", CredentialRef{}, true},
	} {
		got := ParseCredential(c.ref)
		if (got.Problem != "") != c.bad {
			t.Errorf("%q: problem %q, want bad=%t", c.ref, got.Problem, c.bad)
		}
		if !c.bad && (got.Secret != c.want.Secret || got.Namespace != c.want.Namespace || got.Provider != c.want.Provider) {
			t.Errorf("%q: %+v, want %+v", c.ref, got, c.want)
		}
	}
}
