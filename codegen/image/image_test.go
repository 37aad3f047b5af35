package image

import (
	"archive/tar"
	"bytes"
	"context"

	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gwc-dev/gwc/codegen"
)

var (
	amd64 = codegen.Platform{OS: "linux", Arch: "amd64"}
	arm64 = codegen.Platform{OS: "linux", Arch: "arm64"}
)

// fixture writes a fake binary per platform and a CA bundle, and returns
// a spec for them. The image code never runs the binary, so its bytes
// need not be a program.
func fixture(t *testing.T, platforms ...codegen.Platform) Spec {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := Spec{
		CABundle: ca,
		Cmd:      []string{"--listen", "80=:8080"},
		Ports:    []int{8080, 15021},
		Labels:   map[string]string{"dev.gwc.version": "test"},
		Created:  time.Unix(0, 0).UTC(),
		Keychain: authn.NewMultiKeychain(),
	}
	for _, p := range platforms {
		bin := filepath.Join(dir, "ingress-"+p.Arch)
		if err := os.WriteFile(bin, []byte("binary for "+p.String()), 0o700); err != nil {
			t.Fatal(err)
		}
		spec.Binaries = append(spec.Binaries, Binary{Platform: p, Path: bin})
	}
	return spec
}

// untar extracts an archive into a temporary directory.
func untar(t *testing.T, file string) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// archiveImage reads the single image of an archive's OCI layout.
func archiveImage(t *testing.T, file string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(untar(t, file))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("archive index: %v %v", im, err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// files returns the regular files of img's filesystem with their modes.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, _ := io.ReadAll(tr)
			h.PAXRecords = map[string]string{"data": string(data)}
			out[h.Name] = h
		}
	}
}

func TestScratchImageArchive(t *testing.T) {
	spec := fixture(t, amd64)
	a, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ingress.tar")
	if err := WriteArchive(file, a, "ingress:test", spec.Created); err != nil {
		t.Fatal(err)
	}
	// Read it back as docker load does (manifest.json: same config, same
	// layers) and as podman load does (the OCI layout: same digest).
	docker, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := a.Digest()
	img := archiveImage(t, file)
	if got, err := img.Digest(); err != nil || got != want {
		t.Fatalf("archive image digest %v (%v), built %v", got, err, want)
	}
	dc, _ := docker.ConfigName()
	if oc, _ := img.ConfigName(); dc != oc {
		t.Errorf("manifest.json names config %v, the layout %v", dc, oc)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/ingress"}) || !slices.Equal(c.Cmd, spec.Cmd) {
		t.Errorf("config user %q entrypoint %q cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if c.Labels["dev.gwc.version"] != "test" || cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("labels %v, platform %s/%s, created %v", c.Labels, cf.OS, cf.Architecture, cf.Created)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2 (CA bundle and users, binary)", len(layers))
	}
	fs := files(t, img)
	bin := fs["ingress"]
	if bin == nil || bin.Mode != 0o755 || bin.Uid != 0 || bin.PAXRecords["data"] != "binary for linux/amd64" {
		t.Errorf("/ingress: %+v", bin)
	}
	if ca := fs["etc/ssl/certs/ca-certificates.crt"]; ca == nil || !strings.Contains(ca.PAXRecords["data"], "BEGIN CERTIFICATE") {
		t.Errorf("CA bundle missing: %v", fs)
	}
	if pw := fs["etc/passwd"]; pw == nil || !strings.Contains(pw.PAXRecords["data"], "nonroot:x:65532:65532") {
		t.Errorf("/etc/passwd lacks the nonroot user")
	}

	// The same inputs give the same bytes.
	a2, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	file2 := filepath.Join(t.TempDir(), "again.tar")
	if err := WriteArchive(file2, a2, "ingress:test", spec.Created); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(file)
	b2, _ := os.ReadFile(file2)
	if !bytes.Equal(b1, b2) {
		t.Error("two archives of the same inputs differ")
	}
	// And a different creation time a different digest.
	spec.Created = time.Unix(1700000000, 0).UTC()
	a3, _ := Build(context.Background(), spec)
	if d3, _ := a3.Digest(); d3 == want {
		t.Error("SOURCE_DATE_EPOCH does not reach the image")
	}
}

func TestMultiPlatformIndex(t *testing.T) {
	spec := fixture(t, amd64, arm64)
	a, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.Index == nil {
		t.Fatal("two platforms did not make an index")
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, a, "ingress:test"); err != nil {
		t.Fatal(err)
	}
	// Writing again replaces the layout rather than appending to it.
	if err := WriteLayout(dir, a, "ingress:test"); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := lp.IndexManifest()
	if len(top.Manifests) != 1 {
		t.Fatalf("layout index lists %d entries, want the one image index", len(top.Manifests))
	}
	idx, err := lp.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var got []string
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if cf.OS+"/"+cf.Architecture != m.Platform.OS+"/"+m.Platform.Architecture {
			t.Errorf("descriptor says %v, config %s/%s", m.Platform, cf.OS, cf.Architecture)
		}
		got = append(got, m.Platform.String()+" "+files(t, img)["ingress"].PAXRecords["data"])
	}
	want := []string{"linux/amd64 binary for linux/amd64", "linux/arm64 binary for linux/arm64"}
	if !slices.Equal(got, want) {
		t.Errorf("index holds %q, want %q", got, want)
	}

	// The archive of an index holds the same layout, and no manifest.json,
	// which can describe one platform only.
	file := filepath.Join(t.TempDir(), "multi.tar")
	if err := WriteArchive(file, a, "ingress:test", spec.Created); err != nil {
		t.Fatal(err)
	}
	untarred := untar(t, file)
	if _, err := os.Stat(filepath.Join(untarred, "manifest.json")); err == nil {
		t.Error("a multi-platform archive has a manifest.json")
	}
	fromTar, err := layout.ImageIndexFromPath(untarred)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := fromTar.IndexManifest()
	if want, _ := a.Digest(); len(tm.Manifests) != 1 || tm.Manifests[0].Digest != want {
		t.Errorf("archive index %+v, want the index %v", tm.Manifests, want)
	}

	// A directory that is not a layout is never replaced.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "keep"), []byte("x"), 0o644)
	if err := WriteLayout(other, a, "ingress:test"); err == nil {
		t.Error("WriteLayout replaced a directory that is not an image layout")
	}
	if _, err := os.Stat(filepath.Join(other, "keep")); err != nil {
		t.Error("the directory was changed")
	}
}

// startRegistry runs go-containerregistry's in-process registry on
// loopback, behind wrap when given.
func startRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log()))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPushAndBase(t *testing.T) {
	host := startRegistry(t, nil)
	spec := fixture(t, amd64)
	a, err := Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Push(context.Background(), host+"/gwc/ingress:v1", a, spec.Keychain)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := a.Digest()
	if ref != host+"/gwc/ingress@"+d.String() {
		t.Errorf("Push returned %q", ref)
	}
	r, _ := name.ParseReference(host + "/gwc/ingress:v1")
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	if pd, _ := pulled.Digest(); pd != d {
		t.Errorf("registry holds %v, pushed %v", pd, d)
	}

	// The pushed image serves as the base of another: its layers stay
	// underneath, no CA bundle is needed, the config is ours.
	spec2 := fixture(t, amd64)
	spec2.Base, spec2.CABundle = host+"/gwc/ingress:v1", filepath.Join(t.TempDir(), "absent")
	spec2.Cmd = []string{"--listen", "443=:8443"}
	b, err := Build(context.Background(), spec2)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := b.Image.Layers()
	cf, _ := b.Image.ConfigFile()
	if len(layers) != 3 || !slices.Equal(cf.Config.Cmd, spec2.Cmd) {
		t.Errorf("image on a base: %d layers, cmd %q", len(layers), cf.Config.Cmd)
	}
	// A single-platform base cannot serve another platform.
	spec3 := fixture(t, arm64)
	spec3.Base = spec2.Base
	if _, err := Build(context.Background(), spec3); err == nil || !strings.Contains(err.Error(), "is linux/amd64, not linux/arm64") {
		t.Errorf("arm64 binary on an amd64 base: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	refusing := startRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		})
	})
	empty := startRegistry(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	spec := fixture(t, amd64)
	a, err := Build(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"push refused", func() error { _, err := Push(ctx, refusing+"/x:v1", a, spec.Keychain); return err }, "refused the credentials"},
		{"push unreachable", func() error { _, err := Push(ctx, closed+"/x:v1", a, spec.Keychain); return err }, "pushing " + closed + "/x:v1"},
		{"bad reference", func() error { _, err := Push(ctx, "UPPER/case:v1", a, spec.Keychain); return err }, "push reference"},
		{"missing base", func() error { s := spec; s.Base = empty + "/nope:v1"; _, err := Build(ctx, s); return err }, "not found"},
		{"missing base file", func() error { s := spec; s.Base = "nope.tar"; _, err := Build(ctx, s); return err }, "base image nope.tar"},
		{"no CA bundle", func() error { s := spec; s.CABundle = "/nonexistent/ca.crt"; _, err := Build(ctx, s); return err }, "CA bundle"},
		{"no binary", func() error { _, err := Build(ctx, Spec{}); return err }, "no binary"},
	} {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}

	// A failed archive write leaves nothing behind.
	dir := t.TempDir()
	if err := WriteArchive(filepath.Join(dir, "x.tar"), a, "Not A Tag!", spec.Created); err == nil {
		t.Error("bad tag accepted")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestCreated(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	if c, err := Created(env("")); err != nil || c.Unix() != 0 {
		t.Errorf("unset: %v %v", c, err)
	}
	if c, err := Created(env("1700000000")); err != nil || c.Unix() != 1700000000 {
		t.Errorf("set: %v %v", c, err)
	}
	if _, err := Created(env("yesterday")); err == nil {
		t.Error("SOURCE_DATE_EPOCH=yesterday accepted")
	}
}
