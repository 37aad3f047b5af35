package names

import (
	"fmt"
	"strings"
)

// CredentialRef is what a credentialName refers to, read as istiod reads
// it (pilot/pkg/model/credentials): a bare NAME becomes kubernetes://NAME,
// a Secret in the proxy's namespace; kubernetes://NS/NAME and the Gateway
// API's kubernetes-gateway://NS/NAME name one in namespace NS; NS/NAME is
// kubernetes://NS/NAME. Other forms name a credential provider of the
// mesh's agent rather than a Secret.
type CredentialRef struct {
	// Secret and Namespace name the Kubernetes Secret; Namespace is ""
	// when the reference leaves it to the proxy's.
	Secret, Namespace string
	// Provider is set instead for a form that names no Secret:
	// "builtin://", "file-cert:", "file-root:", or the scheme of another
	// URL ("sds://").
	Provider string
	// Problem says why the reference names no valid Secret ("" when it
	// does).
	Problem string
}

// ParseCredential reads a credentialName.
func ParseCredential(ref string) CredentialRef {
	for _, p := range []string{"builtin://", "file-cert:", "file-root:"} {
		if strings.HasPrefix(ref, p) {
			return CredentialRef{Provider: p}
		}
	}
	rest, scheme := ref, ""
	if s, r, ok := strings.Cut(ref, "://"); ok {
		scheme, rest = s, r
		if s != "kubernetes" && s != "kubernetes-gateway" {
			return CredentialRef{Provider: s + "://"}
		}
	}
	var out CredentialRef
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 1:
		out.Secret = parts[0]
		if scheme == "kubernetes-gateway" {
			out.Problem = "kubernetes-gateway:// needs a namespace: kubernetes-gateway://NAMESPACE/NAME"
			return out
		}
	case 2:
		out.Namespace, out.Secret = parts[0], parts[1]
		if !isDNSLabel(out.Namespace) {
			out.Problem = fmt.Sprintf("%q is not a namespace name (a DNS label: lower-case letters, digits and '-')", out.Namespace)
			return out
		}
	default:
		out.Problem = "a credential reference is NAME or NAMESPACE/NAME, with one '/' at most"
		return out
	}
	if !IsSecretName(out.Secret) {
		out.Problem = fmt.Sprintf("%q is not a Kubernetes Secret name (lower-case letters, digits, '-' and '.', beginning and ending with a letter or digit)", out.Secret)
	}
	return out
}

// IsSecretName reports whether s is a valid Kubernetes Secret name: a DNS
// subdomain (RFC 1123) of at most 253 characters. Such a name is one path
// element and never "." or "..".
func IsSecretName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !isDNSLabel(label) {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s is an RFC 1123 label: 1 to 63 lower-case
// letters, digits and '-', beginning and ending with a letter or digit.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
