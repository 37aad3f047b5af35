package runtime

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

func TestUpstreamCredFiles(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "ca")
	// The CA inside the credential wins over a NAME-cacert credential.
	testcerts.WriteCredential(t, dir, "both", ca.Client(t, "c"), ca.PEM)
	testcerts.WriteCredential(t, dir, "both-cacert", ca.Client(t, "c"), ca.PEM)
	os.MkdirAll(filepath.Join(dir, "split-cacert"), 0o755)
	testcerts.Write(t, filepath.Join(dir, "split-cacert", "ca.crt"), ca.PEM)
	for _, tc := range []struct {
		tls     UpstreamTLS
		want    []string // the files read, in order
		wantErr string
	}{
		{UpstreamTLS{CredentialName: "both", Mutual: true}, []string{"both/tls.crt", "both/tls.key", "both/ca.crt"}, ""},
		{UpstreamTLS{CredentialName: "both"}, []string{"both/ca.crt"}, ""},
		{UpstreamTLS{CredentialName: "split"}, []string{"split-cacert/ca.crt"}, ""},
		{UpstreamTLS{CredentialName: "gone", Mutual: true}, nil, "credential gone has no CA: none of " + filepath.Join(dir, "gone", "ca.crt")},
	} {
		f, err := upstreamCredFiles(&tc.tls, dir)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: error %v, want %q", tc.tls, err, tc.wantErr)
			}
			continue
		}
		var got []string
		for _, n := range f.names() {
			rel, _ := filepath.Rel(dir, n)
			got = append(got, filepath.ToSlash(rel))
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%+v: %v, %v; want %v", tc.tls, got, err, tc.want)
		}
	}
}

// TestUpstreamCredentialRotation: a MUTUAL credentialName is read from
// --credentials-dir, and a rotated client certificate is sent on the next
// new connection.
func TestUpstreamCredentialRotation(t *testing.T) {
	old := credentialPoll
	credentialPoll = 0
	t.Cleanup(func() { credentialPoll = old })
	ca := testcerts.NewCA(t, "upstream CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t, "backend.example").TLS(t)},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	testcerts.WriteCredential(t, dir, "up", ca.Client(t, "first"), ca.PEM)
	cl := Cluster{Name: "tls", Endpoints: []Endpoint{{Address: srv.Listener.Addr().String()}}, Policy: &ClusterPolicy{
		Pool: ConnectionPool{MaxRequestsPerConnection: 1},
		TLS:  &UpstreamTLS{CredentialName: "up", Mutual: true, SNI: "backend.example"}}}
	g := startGateway(t, oneRoute(t, []Cluster{cl}), "--credentials-dir", dir)
	if resp, body := g.do(t, client(), 80, "GET", "svc", "/", nil); resp.StatusCode != 200 || body != "first" {
		t.Fatalf("got %d %q, want 200 first", resp.StatusCode, body)
	}
	testcerts.WriteCredential(t, dir, "up", ca.Client(t, "second"), ca.PEM)
	if resp, body := g.do(t, client(), 80, "GET", "svc", "/", nil); resp.StatusCode != 200 || body != "second" {
		t.Fatalf("after rotation: got %d %q, want 200 second", resp.StatusCode, body)
	}
}

func TestUpstreamCredentialMissingStopsStart(t *testing.T) {
	cl := Cluster{Name: "tls", Endpoints: []Endpoint{{Address: "127.0.0.1:1"}},
		Policy: &ClusterPolicy{TLS: &UpstreamTLS{CredentialName: "up", Mutual: true}}}
	cfg := oneRoute(t, []Cluster{cl})
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "up"), 0o755)
	testcerts.Write(t, filepath.Join(dir, "up", "ca.crt"), testcerts.NewCA(t, "ca").PEM)
	cfg.credentialsDir = dir
	err := checkUpstreamTLS(cfg)
	if err == nil || !strings.Contains(err.Error(), `cluster "tls"`) || !strings.Contains(err.Error(), filepath.Join(dir, "up", "tls.crt")) {
		t.Fatalf("error %v, want one naming the cluster and up/tls.crt", err)
	}
}
