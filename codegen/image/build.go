package image

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gwc-dev/gwc/codegen"
)

const (
	// User is the uid and gid the ingress runs as: distroless's "nonroot".
	User = 65532
	// BinaryPath is where the ingress binary sits in the image.
	BinaryPath = "/ingress"
	// DefaultCABundle is where Debian, Ubuntu and Alpine keep the CA
	// bundle the scratch image takes from the build machine.
	DefaultCABundle = "/etc/ssl/certs/ca-certificates.crt"
)

// Binary is one ingress binary and the platform it was built for.
type Binary struct {
	Platform codegen.Platform
	Path     string
}

// Spec says what goes into an image.
type Spec struct {
	// Binaries holds one binary per platform; several make an image index.
	Binaries []Binary
	// Base is "" for scratch, an image reference, or the path of an image
	// archive (a file ending in .tar).
	Base string
	// CABundle is the file copied to /etc/ssl/certs/ca-certificates.crt of
	// a scratch image; DefaultCABundle when empty.
	CABundle string
	// Cmd are the default arguments of the ingress (--listen PORT=ADDR).
	Cmd []string
	// Ports are the container ports to expose, TCP.
	Ports []int
	// Labels are added to the image config.
	Labels map[string]string
	// Created is the image's creation time, and the time of every file the
	// image adds; see Created. The zero time means the Unix epoch.
	Created time.Time
	// Keychain finds registry credentials for Base; authn.DefaultKeychain
	// when nil.
	Keychain authn.Keychain
}

// Created returns the creation time of images: SOURCE_DATE_EPOCH when the
// environment sets it (the reproducible-builds convention), the Unix epoch
// otherwise, never the clock.
func Created(getenv func(string) string) (time.Time, error) {
	s := getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Artifact is a built image: Image for one platform, Index for several.
type Artifact struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest is the digest of the image or index manifest.
func (a Artifact) Digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	return a.Image.Digest()
}

// Build assembles the image (or index) spec describes. Nothing is written
// anywhere: see WriteArchive, WriteLayout and Push.
func Build(ctx context.Context, spec Spec) (Artifact, error) {
	if len(spec.Binaries) == 0 {
		return Artifact{}, errors.New("no binary to put in the image")
	}
	if spec.Created.IsZero() {
		spec.Created = time.Unix(0, 0).UTC()
	}
	kc := spec.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	var ca []byte
	if spec.Base == "" {
		file := spec.CABundle
		if file == "" {
			file = DefaultCABundle
		}
		var err error
		if ca, err = os.ReadFile(file); err != nil {
			return Artifact{}, fmt.Errorf("reading the CA bundle for the scratch image: %w (install the ca-certificates package, name another bundle with --ca-bundle, or use --base with an image that has one)", err)
		}
	}
	bases, err := resolveBase(ctx, spec.Base, spec.Binaries, kc)
	if err != nil {
		return Artifact{}, err
	}
	var imgs []v1.Image
	for i, b := range spec.Binaries {
		img, err := platformImage(spec, bases[i], b, ca)
		if err != nil {
			return Artifact{}, fmt.Errorf("image for %s: %w", platformName(b.Platform), err)
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 1 {
		return Artifact{Image: imgs[0]}, nil
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range imgs {
		p := v1Platform(spec.Binaries[i].Platform)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return Artifact{Index: idx}, nil
}

func platformImage(spec Spec, base v1.Image, b Binary, ca []byte) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, fmt.Errorf("reading the ingress binary: %w", err)
	}
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading the base image: %w", err)
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	var adds []mutate.Addendum
	history := func(what string) v1.History {
		return v1.History{Created: v1.Time{Time: spec.Created}, CreatedBy: "gwc build: " + what, Comment: "gwc"}
	}
	if ca != nil {
		l, err := layer([]entry{
			{name: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
			{name: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
			{name: "/etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca},
		}, spec.Created, layerType)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: history("CA bundle and users"), MediaType: layerType})
	}
	l, err := layer([]entry{{name: BinaryPath, mode: 0o755, data: bin}}, spec.Created, layerType)
	if err != nil {
		return nil, err
	}
	adds = append(adds, mutate.Addendum{Layer: l, History: history("ingress binary"), MediaType: layerType})
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	cf = cf.DeepCopy()
	p := v1Platform(b.Platform)
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: spec.Created}
	c := &cf.Config
	c.User = fmt.Sprintf("%d:%d", User, User)
	c.Entrypoint = []string{BinaryPath}
	c.Cmd = slices.Clone(spec.Cmd)
	c.WorkingDir = "/"
	if len(spec.Ports) > 0 && c.ExposedPorts == nil {
		c.ExposedPorts = map[string]struct{}{}
	}
	for _, port := range spec.Ports {
		c.ExposedPorts[fmt.Sprintf("%d/tcp", port)] = struct{}{}
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	maps.Copy(c.Labels, spec.Labels)
	if !slices.ContainsFunc(c.Env, func(s string) bool { return len(s) > 5 && s[:5] == "PATH=" }) {
		c.Env = append(c.Env, "PATH=/")
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("writing the image config: %w", err)
	}
	return img, nil
}

// v1Platform is p as OCI names it; the zero platform is the machine's.
func v1Platform(p codegen.Platform) v1.Platform {
	if p.IsZero() {
		p = hostPlatform()
	}
	return v1.Platform{OS: p.OS, Architecture: p.Arch, Variant: p.Variant}
}

func platformName(p codegen.Platform) string {
	if p.IsZero() {
		p = hostPlatform()
	}
	return p.String()
}
