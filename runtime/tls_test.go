package runtime

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

const serverA = "gw.yaml:5:5 edge/gw servers[0]"

// tlsConfig is one HTTPS listener on port 443 serving a.example.com with
// credential "a", routed to the backend at addr.
func tlsConfig(t testing.TB, addr string) *Config {
	return &Config{
		Listeners: []Listener{{
			Port:     443,
			Protocol: "HTTPS",
			Hosts:    hosts(t, map[string]int32{"a.example.com": 0}, nil, -1),
			VirtualHosts: []VirtualHost{{Domain: "a.example.com", TLSServers: []int{0}, Routes: []Route{
				{ID: "vs.yaml:10:7 edge/a http[0]", Clusters: []WeightedCluster{{Cluster: 0, Weight: 100}}},
			}}},
			TLS: []ServerTLS{{ID: serverA, SNI: []string{"a.example.com"}, Mode: TLSSimple, CredentialName: "a"}},
		}},
		Clusters: []Cluster{{Name: "outbound|80||a", Endpoints: []Endpoint{{Address: addr}}}},
	}
}

type tlsFixture struct {
	ca   *testcerts.CA
	dir  string
	g    *testGateway
	addr string
}

func startTLS(t *testing.T) *tlsFixture {
	t.Helper()
	f := &tlsFixture{ca: testcerts.NewCA(t, "test CA"), dir: t.TempDir()}
	testcerts.WriteCredential(t, f.dir, "a", f.ca.Server(t, "a.example.com"), nil)
	f.g = startGateway(t, tlsConfig(t, hostPort(backend(t, "a"))), "--credentials-dir", f.dir)
	f.addr = f.g.addr[443]
	return f
}

func (f *tlsFixture) dial(t *testing.T, sni string) (*tls.Conn, error) {
	t.Helper()
	return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", f.addr,
		&tls.Config{ServerName: sni, RootCAs: f.ca.Pool(), NextProtos: []string{"http/1.1"}})
}

func TestHTTPSRequest(t *testing.T) {
	f := startTLS(t)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: f.ca.Pool(), ServerName: "a.example.com"},
		ForceAttemptHTTP2: true,
	}}
	for _, proto := range []string{"HTTP/2.0", "HTTP/1.1"} {
		if proto == "HTTP/1.1" {
			c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool(), ServerName: "a.example.com"}}
		}
		req, _ := http.NewRequest("GET", "https://"+f.addr+"/x?q=1", nil)
		req.Host = "a.example.com"
		req.Header.Set("X-Forwarded-Client-Cert", "By=forged")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s := seenBy(t, string(body))
		if resp.StatusCode != 200 || resp.Proto != proto || s.RequestURI != "/x?q=1" || s.Header["X-Forwarded-Proto"][0] != "https" ||
			s.Header["X-Forwarded-Client-Cert"] != nil {
			t.Errorf("%s: got %d %s %+v", proto, resp.StatusCode, resp.Proto, s)
		}
	}
	resp, err := client().Get("http://" + f.g.admin + "/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	var dump dumpConfig
	err = json.NewDecoder(resp.Body).Decode(&dump)
	resp.Body.Close()
	want := dumpServerTLS{ID: serverA, SNI: []string{"a.example.com"}, Mode: "SIMPLE", CredentialName: "a"}
	if err != nil || len(dump.Listeners) != 1 || len(dump.Listeners[0].TLS) != 1 || !reflect.DeepEqual(dump.Listeners[0].TLS[0], want) {
		t.Errorf("config_dump: %+v (%v), want TLS %+v", dump, err, want)
	}
	if _, err := f.dial(t, "unknown.example.com"); err == nil {
		t.Error("handshake for an unknown server name succeeded")
	}
	if _, err := f.dial(t, ""); err == nil {
		t.Error("handshake without a server name succeeded")
	}
}

// TestStrictFramingOverTLS checks that HTTPS requests get the same strict
// parser.
func TestStrictFramingOverTLS(t *testing.T) {
	f := startTLS(t)
	c, err := f.dial(t, "a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, err := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 400") {
		t.Errorf("Content-Length with chunked over TLS: got %q (%v), want 400 and close", out, err)
	}
}

func TestCredentialReload(t *testing.T) {
	old := credentialPoll
	credentialPoll = 0
	t.Cleanup(func() { credentialPoll = old })
	f := startTLS(t)
	serial := func() string {
		t.Helper()
		c, err := f.dial(t, "a.example.com")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	first := serial()
	next := f.ca.Server(t, "a.example.com")
	testcerts.WriteCredential(t, f.dir, "a", next, nil)
	if got := serial(); got != next.Leaf.SerialNumber.String() || got == first {
		t.Fatalf("after rotation: serial %s, want %s", got, next.Leaf.SerialNumber)
	}
	testcerts.Write(t, filepath.Join(f.dir, "a", "tls.crt"), []byte("not a certificate"))
	if got := serial(); got != next.Leaf.SerialNumber.String() {
		t.Errorf("after a broken rotation: serial %s, want the previous %s", got, next.Leaf.SerialNumber)
	}
	f.g.logs.waitFor(t, "still serving the previous one")
}

func TestTLSStartFailures(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"missing", func(dir string) {}, []string{filepath.Join("a", "tls.crt"), serverA}},
		{"mismatched key", func(dir string) {
			p, q := ca.Server(t, "a.example.com"), ca.Server(t, "a.example.com")
			p.KeyPEM = q.KeyPEM
			testcerts.WriteCredential(t, dir, "a", p, nil)
		}, []string{"private key does not match", serverA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(dir)
			var log bytes.Buffer
			code := Run(t.Context(), tlsConfig(t, "127.0.0.1:1"), []string{"--credentials-dir", dir,
				"--listen", "443=127.0.0.1:0", "--status-addr", "", "--admin-addr", ""}, &log)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log does not name %q:\n%s", w, log.String())
				}
			}
		})
	}
}

// TestTLSNoLeaks sends a malformed ClientHello, plain HTTP, and a client
// that never sends, and checks that goroutines and file descriptors come
// back to where they were.
func TestTLSNoLeaks(t *testing.T) {
	old := handshakeTimeout
	handshakeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { handshakeTimeout = old })
	f := startTLS(t)
	if c, err := f.dial(t, "a.example.com"); err != nil { // warm up
		t.Fatal(err)
	} else {
		c.Close()
	}
	goroutines, fds := settle(t, -1, -1)
	payloads := []string{
		"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03garbage-that-is-not-a-client-hello......",
		"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n",
		"",                         // never sends
		"\x16\x03\x01\x40\x00\x01", // announces a record it never sends
	}
	for range 2 {
		for _, p := range payloads {
			c, err := net.Dial("tcp", f.addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, p)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			out, err := io.ReadAll(c)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("payload %q: connection not closed by the server", p)
			}
			if bytes.Contains(out, []byte("HTTP/")) {
				t.Errorf("payload %q: got an HTTP answer %q on a TLS port", p, out)
			}
			c.Close()
		}
	}
	settle(t, goroutines, fds)
}

// settle returns the goroutine and fd counts once they are at most the
// wanted ones; with negative wants, once two samples agree.
func settle(t *testing.T, goroutines, fds int) (int, int) {
	t.Helper()
	pg, pn := -1, -1
	for range 100 {
		g, n := goruntime.NumGoroutine(), openFDs(t)
		if goroutines < 0 && g == pg && n == pn || goroutines >= 0 && g <= goroutines && n <= fds {
			return g, n
		}
		pg, pn = g, n
		time.Sleep(20 * time.Millisecond)
	}
	if goroutines < 0 {
		return pg, pn
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("leak: %d goroutines (want <= %d), %d fds (want <= %d)\n%s", pg, goroutines, pn, fds, buf[:goruntime.Stack(buf, true)])
	return pg, pn
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(fmt.Errorf("counting file descriptors: %w", err))
	}
	return len(ents)
}

func TestVerifyPeerPins(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	good, other := ca.Client(t, "spiffe://example.com/good", "good.example.com"), ca.Client(t, "other.example.com")
	spki := sha256.Sum256(good.Leaf.RawSubjectPublicKeyInfo)
	hash := strings.ToUpper(good.Hash())
	var colons []string
	for i := 0; i < len(hash); i += 2 {
		colons = append(colons, hash[i:i+2])
	}
	for _, tc := range []struct {
		name string
		s    ServerTLS
	}{
		{"san uri", ServerTLS{SubjectAltNames: []string{"spiffe://example.com/good"}}},
		{"san dns", ServerTLS{SubjectAltNames: []string{"x", "good.example.com"}}},
		{"spki", ServerTLS{VerifyCertificateSpki: []string{base64.StdEncoding.EncodeToString(spki[:])}}},
		{"hash with colons", ServerTLS{VerifyCertificateHash: []string{strings.Join(colons, ":")}}},
		{"spki or hash", ServerTLS{VerifyCertificateSpki: []string{"AAAA"}, VerifyCertificateHash: []string{good.Hash()}}},
	} {
		if err := tc.s.verifyPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Leaf}}); err != nil {
			t.Errorf("%s: good certificate refused: %v", tc.name, err)
		}
		if err := tc.s.verifyPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{other.Leaf}}); err == nil {
			t.Errorf("%s: other certificate accepted", tc.name)
		}
		if err := tc.s.verifyPeer(tls.ConnectionState{}); err != nil {
			t.Errorf("%s: no certificate (OPTIONAL_MUTUAL) refused: %v", tc.name, err)
		}
	}
}

// TestMutualClientCertHeader checks MUTUAL end to end in the runtime: the CA
// from the credential, and x-forwarded-client-cert set from the verified
// certificate in place of the client's.
func TestMutualClientCertHeader(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	dir := t.TempDir()
	testcerts.WriteCredential(t, dir, "a", ca.Server(t, "a.example.com"), ca.PEM)
	cfg := tlsConfig(t, hostPort(backend(t, "a")))
	cfg.Listeners[0].TLS[0].Mode = TLSMutual
	g := startGateway(t, cfg, "--credentials-dir", dir)
	client := ca.Client(t, "client.example.com", "spiffe://example.com/ns/a/sa/b")
	cert := client.TLS(t)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool(), ServerName: "a.example.com", Certificates: []tls.Certificate{cert}}}}
	req, _ := http.NewRequest("GET", "https://"+g.addr[443]+"/", nil)
	req.Host = "a.example.com"
	req.Header.Set("X-Forwarded-Client-Cert", "By=forged")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := seenBy(t, string(body)).Header["X-Forwarded-Client-Cert"]
	want := "Hash=" + client.Hash() + `;Cert="`
	if len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], `;Subject="CN=client.example.com";URI=spiffe://example.com/ns/a/sa/b;DNS=client.example.com`) {
		t.Errorf("x-forwarded-client-cert: %q", got)
	}
}

// TestCredentialNamesAndCACredential serves an RSA and an ECDSA certificate
// (credentialNames) and takes the client CA from caCertCredentialName.
func TestCredentialNamesAndCACredential(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	dir := t.TempDir()
	testcerts.WriteCredential(t, dir, "rsa", ca.ServerRSA(t, "a.example.com"), nil)
	testcerts.WriteCredential(t, dir, "ecdsa", ca.Server(t, "a.example.com"), nil)
	if err := os.MkdirAll(filepath.Join(dir, "client-ca"), 0o755); err != nil {
		t.Fatal(err)
	}
	testcerts.Write(t, filepath.Join(dir, "client-ca", "ca.crt"), ca.PEM)
	cfg := tlsConfig(t, hostPort(backend(t, "a")))
	s := &cfg.Listeners[0].TLS[0]
	s.CredentialName, s.CredentialNames, s.CACredentialName, s.Mode = "", []string{"rsa", "ecdsa"}, "client-ca", TLSOptionalMutual
	g := startGateway(t, cfg, "--credentials-dir", dir)
	client := ca.Client(t, "client.example.com").TLS(t)
	for _, tc := range []struct {
		suite uint16
		want  string
	}{{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "*rsa.PublicKey"}, {tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "*ecdsa.PublicKey"}} {
		c, err := tls.Dial("tcp", g.addr[443], &tls.Config{ServerName: "a.example.com", RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tc.suite}, Certificates: []tls.Certificate{client}})
		if err != nil {
			t.Errorf("suite %#x: %v", tc.suite, err)
			continue
		}
		if got := fmt.Sprintf("%T", c.ConnectionState().PeerCertificates[0].PublicKey); got != tc.want {
			t.Errorf("suite %#x: served a %s key, want %s", tc.suite, got, tc.want)
		}
		c.Close()
	}
	other := testcerts.NewCA(t, "other CA").Client(t, "client.example.com").TLS(t)
	c, err := tls.Dial("tcp", g.addr[443], &tls.Config{ServerName: "a.example.com", RootCAs: ca.Pool(),
		// Sent even though the server does not list its CA.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil }})
	if err == nil {
		// TLS 1.3: the server's verdict on the client certificate comes
		// with the first read.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a client certificate from another CA: %v, want a failed handshake", err)
	}
}

// TestCRLAndInsecureSkipVerify: a revoked client certificate (ca.crl in the
// credential) fails the handshake; insecureSkipVerify lets an untrusted one
// through.
func TestCRLAndInsecureSkipVerify(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	good, revoked := ca.Client(t, "good.example.com"), ca.Client(t, "revoked.example.com")
	untrusted := testcerts.NewCA(t, "other CA").Client(t, "other.example.com")
	dir := t.TempDir()
	testcerts.WriteCredential(t, dir, "a", ca.Server(t, "a.example.com"), ca.PEM)
	testcerts.Write(t, filepath.Join(dir, "a", "ca.crl"), ca.CRL(t, revoked))
	try := func(g *testGateway, p testcerts.Pair) error {
		cert := p.TLS(t)
		c, err := tls.Dial("tcp", g.addr[443], &tls.Config{ServerName: "a.example.com", RootCAs: ca.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }})
		if err != nil {
			return err
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		return err
	}
	cfg := tlsConfig(t, hostPort(backend(t, "a")))
	cfg.Listeners[0].TLS[0].Mode = TLSMutual
	g := startGateway(t, cfg, "--credentials-dir", dir)
	if err := try(g, good); err != nil {
		t.Errorf("good certificate: %v", err)
	}
	for name, p := range map[string]testcerts.Pair{"revoked": revoked, "untrusted": untrusted} {
		if err := try(g, p); err == nil {
			t.Errorf("%s certificate: got through", name)
		}
	}
	cfg = tlsConfig(t, hostPort(backend(t, "a")))
	cfg.Listeners[0].TLS[0].Mode, cfg.Listeners[0].TLS[0].InsecureSkipVerify = TLSMutual, true
	g = startGateway(t, cfg, "--credentials-dir", dir)
	if err := try(g, untrusted); err != nil {
		t.Errorf("insecureSkipVerify, untrusted certificate: %v", err)
	}
}
