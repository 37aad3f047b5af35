package compiler

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/names"
)

// credentialSecret maps a credentialName to the Secret the ingress reads
// as --credentials-dir/SECRET: every form istiod accepts that names a
// Secret of the resource's namespace (NAME, NS/NAME, kubernetes://[NS/]NAME,
// kubernetes-gateway://NS/NAME). Istio accepts the other forms too, but
// they name nothing gwc can read: report is told why, with a hint, and ok
// is false. client says the credential is a DestinationRule's (a client
// certificate), for the hint.
func credentialSecret(ref, namespace string, client bool, report func(hint, format string, args ...any)) (secret string, ok bool) {
	r := names.ParseCredential(ref)
	switch {
	case r.Provider != "":
		hint := "name a Kubernetes Secret (NAME or kubernetes://NAME) and mount it as --credentials-dir/NAME"
		switch r.Provider {
		case "builtin://":
			hint = "a standalone gateway has no mesh workload certificate: put a certificate and key in a Secret and name it"
		case "file-cert:":
			hint = "give the files as serverCertificate and privateKey"
			if client {
				hint = "give the files as clientCertificate and privateKey"
			}
		case "file-root:":
			hint = "give the file as caCertificates"
		}
		report(hint, "credentialName %q names the %s credential provider of Istio's agent, which gwc cannot read: gwc serves Kubernetes Secrets mounted under --credentials-dir",
			ref, r.Provider)
		return "", false
	case r.Problem != "":
		report("name the Secret as NAME, NAMESPACE/NAME or kubernetes://NAME", "credentialName %q: %s", ref, r.Problem)
		return "", false
	case r.Namespace != "" && r.Namespace != namespace:
		report(fmt.Sprintf("copy the Secret into namespace %s and name it %s", namespace, r.Secret),
			"credentialName %q names a Secret of namespace %s: gwc reads the Secrets of the resource's namespace (%s) only, each mounted as --credentials-dir/NAME (istiod too refuses a gateway another namespace's Secret)",
			ref, r.Namespace, namespace)
		return "", false
	}
	return r.Secret, true
}
