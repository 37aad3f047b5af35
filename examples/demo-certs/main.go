// Command demo-certs makes the throwaway certificates the TLS examples
// need, at demo time: nothing secret is committed. It writes, under DIR,
// a CA and, signed by it, one credential per credentialName of the
// examples (NAME/tls.crt, NAME/tls.key, as a Kubernetes TLS Secret is
// mounted: DIR is the ingress's --credentials-dir), the client
// certificate mutual TLS asks for and the certificates of the two
// services behind SNI passthrough.
//
//	go run ./examples/demo-certs DIR
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// A certificate to write: the directory under DIR and its DNS name.
type leaf struct {
	dir, name string
	client    bool
	withCA    bool // the CA as ca.crt: the client CA of mutual TLS
}

var leaves = []leaf{
	{dir: "webapp-credential", name: "webapp.example.com"},
	{dir: "secure-credential", name: "secure.example.com", withCA: true},
	{dir: "catalog-credential", name: "catalog.example.com"},
	{dir: "shop-credential", name: "shop.example.com"},
	{dir: "client", name: "client.example.com", client: true},
	{dir: "one", name: "one.example.com"},
	{dir: "two", name: "two.example.com"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demo-certs DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "demo-certs:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gwc demo CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := writeFile(dir, "ca.crt", caPEM); err != nil {
		return err
	}
	for i, l := range leaves {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		usage := x509.ExtKeyUsageServerAuth
		if l.client {
			usage = x509.ExtKeyUsageClientAuth
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{CommonName: l.name},
			DNSNames:     []string{l.name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(30 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		files := map[string][]byte{
			"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		}
		if l.withCA {
			files["ca.crt"] = caPEM
		}
		for _, name := range []string{"tls.crt", "tls.key", "ca.crt"} {
			if data, ok := files[name]; ok {
				if err := writeFile(dir, filepath.Join(l.dir, name), data); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeFile writes DIR/name, keys readable by their owner only, and says
// so.
func writeFile(dir, name string, data []byte) error {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return err
	}
	fmt.Println(p)
	return nil
}
