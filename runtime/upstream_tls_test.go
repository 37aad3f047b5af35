package runtime

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a CA with a server and a client certificate, written as PEM
// files.
type testPKI struct {
	dir                           string
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, dns ...string) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	sDER, sKey := leaf(2, "backend", x509.ExtKeyUsageServerAuth, "backend.example")
	p.server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := leaf(3, "gateway-client", x509.ExtKeyUsageClientAuth)
	p.clientCert = p.write(t, "client.pem", "CERTIFICATE", cDER)
	kDER, _ := x509.MarshalECPrivateKey(cKey)
	p.clientKey = p.write(t, "client-key.pem", "EC PRIVATE KEY", kDER)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsBackend answers with the SNI it saw and the client certificate's CN.
func (p *testPKI) tlsBackend(t *testing.T, mutual bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := "-"
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		io.WriteString(w, r.TLS.ServerName+" "+cn)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point
	if mutual {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = p.pool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestUpstreamTLS(t *testing.T) {
	p := newTestPKI(t)
	simple := p.tlsBackend(t, false)
	mutual := p.tlsBackend(t, true)
	cases := []struct {
		name     string
		srv      *httptest.Server
		tls      UpstreamTLS
		host     string
		wantCode int
		wantBody string
	}{
		{"simple with sni", simple, UpstreamTLS{CACertificates: p.caFile, SNI: "backend.example"}, "svc", 200, "backend.example -"},
		{"simple, sni from host", simple, UpstreamTLS{CACertificates: p.caFile}, "backend.example:8080", 200, "backend.example -"},
		{"simple, host not in certificate", simple, UpstreamTLS{CACertificates: p.caFile}, "other.example", 503, ""},
		{"unknown ca", simple, UpstreamTLS{SNI: "backend.example"}, "svc", 503, ""},
		{"subjectAltNames instead of sni", simple, UpstreamTLS{CACertificates: p.caFile, SNI: "x.internal", SubjectAltNames: []string{"backend.example"}}, "svc", 200, "x.internal -"},
		{"subjectAltNames mismatch", simple, UpstreamTLS{CACertificates: p.caFile, SNI: "backend.example", SubjectAltNames: []string{"db.example"}}, "svc", 503, ""},
		{"insecureSkipVerify", simple, UpstreamTLS{InsecureSkipVerify: true, SNI: "whatever"}, "svc", 200, "whatever -"},
		{"mutual", mutual, UpstreamTLS{CACertificates: p.caFile, ClientCertificate: p.clientCert, PrivateKey: p.clientKey, SNI: "backend.example"}, "svc", 200, "backend.example gateway-client"},
		{"mutual server, no client certificate", mutual, UpstreamTLS{CACertificates: p.caFile, SNI: "backend.example"}, "svc", 503, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tlsCfg := tc.tls
			cl := Cluster{Name: "tls", Endpoints: []Endpoint{{Address: tc.srv.Listener.Addr().String()}}, Policy: &ClusterPolicy{TLS: &tlsCfg}}
			g := startGateway(t, oneRoute(t, []Cluster{cl}))
			resp, body := g.do(t, client(), 80, "GET", tc.host, "/", nil)
			if resp.StatusCode != tc.wantCode || tc.wantBody != "" && body != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestUpstreamTLSMissingFileStopsStart(t *testing.T) {
	cl := Cluster{Name: "tls", Endpoints: []Endpoint{{Address: "127.0.0.1:1"}},
		Policy: &ClusterPolicy{TLS: &UpstreamTLS{CACertificates: filepath.Join(t.TempDir(), "missing.pem")}}}
	cfg := oneRoute(t, []Cluster{cl})
	if err := checkUpstreamTLS(cfg); err == nil {
		t.Fatal("a missing caCertificates file was accepted")
	}
}

// A cluster that speaks HTTP/2 (a GRPC or HTTP2 port) with a
// DestinationRule's tls speaks HTTP/2 over TLS (ALPN h2), as Envoy does;
// and one with only connection-pool settings speaks cleartext HTTP/2.
// Neither may fall back to cleartext or to HTTP/1.1.
func TestHTTP2ClusterWithOwnTransport(t *testing.T) {
	tlsBackend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%t", r.Proto, r.TLS != nil)
	}))
	tlsBackend.EnableHTTP2 = true
	tlsBackend.StartTLS()
	t.Cleanup(tlsBackend.Close)
	h2c := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%t", r.Proto, r.TLS != nil)
	}))
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	t.Cleanup(h2c.Close)
	h1Only := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(h1Only.Close)
	skipVerify := &ClusterPolicy{TLS: &UpstreamTLS{InsecureSkipVerify: true}}
	for _, tt := range []struct {
		name    string
		backend *httptest.Server
		policy  *ClusterPolicy
		status  int
		want    string
	}{
		{"tls", tlsBackend, skipVerify, 200, "HTTP/2.0 tls=true"},
		{"connection pool", h2c, &ClusterPolicy{Pool: ConnectionPool{MaxConnections: 10, ConnectTimeout: time.Second}}, 200, "HTTP/2.0 tls=false"},
		{"tls without h2", h1Only, skipVerify, 503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := staticCluster("grpc", hostPort(tt.backend))
			c.HTTP2, c.Policy = true, tt.policy
			g := startGateway(t, oneRoute(t, []Cluster{c}))
			for _, method := range []string{"GET", "POST"} {
				if resp, body := g.do(t, client(), 80, method, "h", "/", nil); resp.StatusCode != tt.status || body != tt.want {
					t.Errorf("%s: %d %q, want %d %q", method, resp.StatusCode, body, tt.status, tt.want)
				}
			}
		})
	}
}
