package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/internal/testcerts"
)

// runCredentials runs the ingress of cfg with --credentials-dir dir and
// returns its exit status and log; should it start, it is stopped once
// ready (and the status is 0).
func runCredentials(t *testing.T, cfg *Config, dir string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLogSink()
	done := make(chan int, 1)
	args := []string{"--credentials-dir", dir, "--status-addr", "", "--admin-addr", ""}
	for _, l := range cfg.Listeners {
		args = append(args, "--listen", fmt.Sprintf("%d=127.0.0.1:0", l.Port))
	}
	go func() { done <- Run(ctx, cfg, args, logs) }()
	for {
		select {
		case code := <-done:
			return code, logs.String()
		case <-logs.ch:
			if strings.Contains(logs.String(), "msg=ready") {
				cancel()
			}
		}
	}
}

// A credential name only reaches files inside --credentials-dir: a name
// with "..", or a Secret folder that is a symbolic link out of it, fails
// to load with an error naming the file and the folder, even when a valid
// certificate waits outside. The kubelet's layout (links inside the
// folder) loads.
func TestCredentialsStayInTheirFolder(t *testing.T) {
	ca := testcerts.NewCA(t, "test CA")
	base := t.TempDir()
	dir := filepath.Join(base, "credentials")
	outside := filepath.Join(base, "outside")
	// A valid credential outside the folder, which no name may reach.
	testcerts.WriteCredential(t, base, "outside", ca.Server(t, "a.example.com"), ca.PEM)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A Secret folder that is a link out of the folder.
	if err := os.Symlink(outside, filepath.Join(dir, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	// A Secret whose files are links out of the folder.
	os.MkdirAll(filepath.Join(dir, "linked-files"), 0o755)
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join(outside, f), filepath.Join(dir, "linked-files", f)); err != nil {
			t.Fatal(err)
		}
	}
	// A mounted Secret as the kubelet writes it: files are links into
	// ..data, itself a link to the current version's folder.
	kube := filepath.Join(dir, "kube")
	testcerts.WriteCredential(t, kube, "..2026_12_07_00_00_00.1", ca.Server(t, "a.example.com"), ca.PEM)
	os.Symlink("..2026_12_07_00_00_00.1", filepath.Join(kube, "..data"))
	for _, f := range []string{"tls.crt", "tls.key", "ca.crt"} {
		os.Symlink(filepath.Join("..data", f), filepath.Join(kube, f))
	}

	for _, tc := range []struct {
		name, cred string
		mutual     bool
		want       []string // in the log
	}{
		{"dot-dot", "../outside", false, []string{"../outside/tls.crt", "path escapes", "inside --credentials-dir " + dir}},
		{"absolute", outside, false, []string{"tls.crt", "inside --credentials-dir " + dir}},
		{"linked folder", "linked-dir", false, []string{"linked-dir/tls.crt", "path escapes", "inside --credentials-dir " + dir}},
		{"linked files", "linked-files", false, []string{"linked-files/tls.crt", "path escapes"}},
		{"dot-dot CA", "kube", true, []string{"../outside-cacert/ca.crt", "path escapes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsConfig(t, "127.0.0.1:1")
			if tc.mutual {
				s := &cfg.Listeners[0].TLS[0]
				s.Mode, s.CredentialName, s.CACredentialName = TLSMutual, tc.cred, "../outside-cacert"
				// The credential's own CA would be used after the named one
				// fails: remove it so only the escaping name is left.
				os.Remove(filepath.Join(kube, "ca.crt"))
				defer os.Symlink(filepath.Join("..data", "ca.crt"), filepath.Join(kube, "ca.crt"))
				testcerts.WriteCredential(t, base, "outside-cacert", ca.Client(t, "x"), ca.PEM)
			} else {
				cfg.Listeners[0].TLS[0].CredentialName = tc.cred
			}
			code, log := runCredentials(t, cfg, dir)
			if code != 1 {
				t.Errorf("exit %d, want 1: a credential out of the folder must not load\n%s", code, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("log does not say %q:\n%s", w, log)
				}
			}
		})
	}

	t.Run("kubelet layout", func(t *testing.T) {
		cfg := tlsConfig(t, hostPort(backend(t, "a")))
		cfg.Listeners[0].TLS[0].CredentialName = "kube"
		g := startGateway(t, cfg, "--credentials-dir", dir)
		f := &tlsFixture{ca: ca, dir: dir, g: g, addr: g.addr[443]}
		conn, err := f.dial(t, "a.example.com")
		if err != nil {
			t.Fatalf("handshake with the kubelet-style credential: %v", err)
		}
		conn.Close()
	})
}

// An upstream credential (a DestinationRule's credentialName) is confined
// the same way.
func TestUpstreamCredentialStaysInItsFolder(t *testing.T) {
	ca := testcerts.NewCA(t, "ca")
	base := t.TempDir()
	dir := filepath.Join(base, "credentials")
	os.MkdirAll(dir, 0o755)
	testcerts.WriteCredential(t, base, "outside", ca.Client(t, "c"), ca.PEM)
	os.Symlink(filepath.Join(base, "outside"), filepath.Join(dir, "up"))
	for _, name := range []string{"../outside", "up"} {
		cfg := oneRoute(t, []Cluster{{Name: "tls", Endpoints: []Endpoint{{Address: "127.0.0.1:1"}},
			Policy: &ClusterPolicy{TLS: &UpstreamTLS{CredentialName: name, Mutual: true}}}})
		code, log := runCredentials(t, cfg, dir)
		if code != 1 || !strings.Contains(log, `cluster \"tls\"`) || !strings.Contains(log, "path escapes") {
			t.Errorf("credential %q: exit %d, want 1 and the cluster's files refused outside the folder:\n%s", name, code, log)
		}
	}
}

// A rotation that points a mounted Secret out of the folder (its ..data
// link swapped to a directory elsewhere) is refused: the previous
// certificate keeps serving and the refusal is logged.
func TestCredentialRotationOutOfTheFolder(t *testing.T) {
	old := credentialPoll
	credentialPoll = 0
	t.Cleanup(func() { credentialPoll = old })
	ca := testcerts.NewCA(t, "test CA")
	base := t.TempDir()
	dir := filepath.Join(base, "credentials")
	kube := filepath.Join(dir, "kube")
	first := ca.Server(t, "a.example.com")
	testcerts.WriteCredential(t, kube, "..v1", first, nil)
	os.Symlink("..v1", filepath.Join(kube, "..data"))
	for _, f := range []string{"tls.crt", "tls.key"} {
		os.Symlink(filepath.Join("..data", f), filepath.Join(kube, f))
	}
	cfg := tlsConfig(t, hostPort(backend(t, "a")))
	cfg.Listeners[0].TLS[0].CredentialName = "kube"
	g := startGateway(t, cfg, "--credentials-dir", dir)
	f := &tlsFixture{ca: ca, dir: dir, g: g, addr: g.addr[443]}
	served := func() string {
		t.Helper()
		conn, err := f.dial(t, "a.example.com")
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := served()

	testcerts.WriteCredential(t, base, "elsewhere", ca.Server(t, "a.example.com"), nil)
	tmp := filepath.Join(kube, "..data_tmp")
	if err := os.Symlink(filepath.Join(base, "elsewhere"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(kube, "..data")); err != nil {
		t.Fatal(err)
	}
	if after := served(); after != before {
		t.Errorf("serial %s after the rotation out of the folder, want the previous %s", after, before)
	}
	line := g.logs.waitFor(t, "still serving the previous one")
	if !strings.Contains(line, "path escapes") {
		t.Errorf("the refusal does not say why: %s", line)
	}
}
