package main

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// copyExamples copies ./examples' resources into dir/examples, creating
// the files in a random order, so that nothing may depend on directory
// order.
func copyExamples(t *testing.T, src, dir string, seed uint64) {
	t.Helper()
	var files []string
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if len(files) == 0 {
		t.Fatal("no example resources")
	}
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "examples", "coolstore", filepath.Base(f))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImageOfExamples builds ./examples into a two-platform image twice,
// in two directories with the files created in different orders, and
// checks the digests agree; then reads the image back with
// go-containerregistry and runs the binary inside it.
func TestImageOfExamples(t *testing.T) {
	platforms := "linux/amd64,linux/arm64"
	src, err := filepath.Abs("../../examples/coolstore")
	if err != nil {
		t.Fatal(err)
	}
	var digests []v1.Hash
	var archives [][]byte
	for i, seed := range []uint64{1, 2} {
		dir := t.TempDir()
		copyExamples(t, src, dir, seed)
		t.Chdir(dir)
		var stderr bytes.Buffer
		// The second build also writes its binaries under another name:
		// the image must not notice.
		out := []string{"ingress", "other-name"}[i]
		args := []string{"build", "-o", out, "--platform", platforms, "--image", "img.tar", "--image-layout", "layout", "--manifests", "k8s", "./examples/coolstore"}
		if code := run(args, nil, io.Discard, &stderr); code != 0 {
			t.Fatalf("gwc build exited %d:\n%s", code, stderr.String())
		}
		idx, err := layout.ImageIndexFromPath("layout")
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("layout index: %v %v", im, err)
		}
		digests = append(digests, im.Manifests[0].Digest)
		data, err := os.ReadFile("img.tar")
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, data)
		if i == 0 {
			checkImage(t, idx, im.Manifests[0].Digest)
			checkManifests(t, "k8s/gwc-ingress.yaml")
		}
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same resources: digests %v and %v", digests[0], digests[1])
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("two builds of the same resources: the image archives differ")
	}
}

func checkImage(t *testing.T, lp v1.ImageIndex, d v1.Hash) {
	t.Helper()
	idx, err := lp.ImageIndex(d)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var platforms []string
	var host v1.Image
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
		if m.Platform.Architecture == runtime.GOARCH {
			if host, err = idx.Image(m.Digest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Errorf("index platforms %q, want %q", platforms, want)
	}
	if host == nil {
		t.Fatalf("no image for this machine's %s", runtime.GOARCH)
	}
	cf, err := host.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/ingress"}) || !slices.Equal(c.Cmd, []string{"--listen", "80=:8080"}) {
		t.Errorf("user %q, entrypoint %q, cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	for _, p := range []string{"8080/tcp", "15021/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, c.ExposedPorts)
		}
	}
	if !strings.HasPrefix(c.Labels["dev.gwc.resources.digest"], "sha256:") || c.Labels["dev.gwc.version"] == "" {
		t.Errorf("labels %v", c.Labels)
	}
	if layers, _ := host.Layers(); len(layers) != 2 {
		t.Errorf("%d layers, want 2", len(layers))
	}

	// Take the binary out of the image and run it.
	bin := filepath.Join(t.TempDir(), "ingress")
	rc := mutate.Extract(host)
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "ingress" {
			found = true
			if h.Mode&0o111 == 0 {
				t.Errorf("/ingress mode %o", h.Mode)
			}
			data, _ := io.ReadAll(tr)
			os.WriteFile(bin, data, 0o755)
		}
	}
	if !found {
		t.Fatal("no /ingress in the image")
	}
	in := startIngress(t, bin, 80)
	if status, _ := get(t, http.DefaultClient, in.url(80)+"/", "unknown.example.com"); status != 404 {
		t.Errorf("the image's ingress answered %d for an unknown host, want 404", status)
	}
}

// checkManifests decodes gwc build --manifests' output strictly with the
// Kubernetes API types.
func checkManifests(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var meta struct{ Kind string }
		yaml.Unmarshal(doc, &meta)
		var into any
		switch meta.Kind {
		case "Deployment":
			into = &appsv1.Deployment{}
		case "Service":
			into = &corev1.Service{}
		case "HorizontalPodAutoscaler":
			into = &autoscalingv2.HorizontalPodAutoscaler{}
		case "PodDisruptionBudget":
			into = &policyv1.PodDisruptionBudget{}
		}
		if into == nil {
			t.Fatalf("unexpected document:\n%s", doc)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s does not decode strictly: %v", meta.Kind, err)
		}
		kinds = append(kinds, meta.Kind)
		if d, ok := into.(*appsv1.Deployment); ok {
			if got := d.Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(got, "ingress:latest") {
				t.Errorf("deployment runs %q", got)
			}
			if d.Spec.Selector.MatchLabels["istio"] != "ingressgateway" {
				t.Errorf("deployment selects %v, want the Gateway's selector", d.Spec.Selector.MatchLabels)
			}
		}
		if s, ok := into.(*corev1.Service); ok {
			last := s.Spec.Ports[len(s.Spec.Ports)-1]
			if last.Port != 80 || last.TargetPort.IntValue() != 8080 {
				t.Errorf("service port %d -> %s", last.Port, last.TargetPort.String())
			}
		}
	}
	if want := []string{"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %q, want %q", kinds, want)
	}
}

// TestPushToRegistry pushes with gwc build --push to go-containerregistry's
// in-process registry on loopback; the manifests name what was pushed by
// digest.
func TestPushToRegistry(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials from this machine
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	ref := host + "/gwc/ingress:v1"
	var stderr bytes.Buffer
	args := []string{"build", "-o", filepath.Join(dir, "ingress"), "--push", ref, "--manifests", filepath.Join(dir, "k8s"), "--name", "edge", "../../examples/coolstore"}
	if code := run(args, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("gwc build exited %d:\n%s", code, stderr.String())
	}
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("the registry does not have %s: %v", ref, err)
	}
	d, _ := img.Digest()
	data, err := os.ReadFile(filepath.Join(dir, "k8s", "edge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `image: "` + host + `/gwc/ingress@` + d.String() + `"`; !strings.Contains(string(data), want) {
		t.Errorf("manifests do not run the pushed digest (%s):\n%s", want, data)
	}
	if !strings.Contains(stderr.String(), "gwc: push") {
		t.Errorf("no push step in:\n%s", stderr.String())
	}
}
