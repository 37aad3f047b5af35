package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// benchCredential is the credentialName of the HTTPS scenario's Gateway
// server; the ingress reads it under --credentials-dir.
const benchCredential = "bench-cert"

// certFiles are where a scenario directory keeps the throwaway certificate:
// the same key pair for every target, in the layout each one reads.
type certFiles struct {
	CredsDir string // the ingress's --credentials-dir
	Cert     string // PEM certificate (the ingress, nginx, Caddy)
	Key      string // PEM private key (the ingress, nginx, Caddy)
	Combined string // certificate then key in one file (HAProxy's crt)
}

func certPaths(dir string) certFiles {
	creds := filepath.Join(dir, "creds")
	return certFiles{
		CredsDir: creds,
		Cert:     filepath.Join(creds, benchCredential, "tls.crt"),
		Key:      filepath.Join(creds, benchCredential, "tls.key"),
		Combined: filepath.Join(dir, "haproxy.pem"),
	}
}

// selfSigned makes a throwaway ECDSA P-256 certificate for hosts and
// 127.0.0.1, valid for a day, and returns it and its key as PEM. It is
// generated at bench time and written only under the work directory.
func selfSigned(hosts []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              hosts,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// writeCert generates the certificate for s's hosts and writes it where
// every target reads it.
func writeCert(dir string, s scenario) error {
	hosts := append([]string{}, s.Exact...)
	for _, w := range s.Wild {
		hosts = append(hosts, "*."+w)
	}
	certPEM, keyPEM, err := selfSigned(hosts)
	if err != nil {
		return err
	}
	f := certPaths(dir)
	if err := os.MkdirAll(filepath.Dir(f.Cert), 0o700); err != nil {
		return err
	}
	for path, data := range map[string][]byte{f.Cert: certPEM, f.Key: keyPEM, f.Combined: append(append([]byte{}, certPEM...), keyPEM...)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// clientTLS trusts the scenario's certificate, for the readiness check.
func clientTLS(dir, serverName string) (*tls.Config, error) {
	data, err := os.ReadFile(certPaths(dir).Cert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no certificate in %s", certPaths(dir).Cert)
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName}, nil
}
