package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/codegen/image"
	"github.com/gwc-dev/gwc/codegen/manifests"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// shipFlags are gwc build's flags for what follows the binary: images,
// pushes, Kubernetes objects and a Dockerfile.
type shipFlags struct {
	platform   *string
	image      *string
	layout     *string
	push       *string
	base       *string
	tag        *string
	caBundle   *string
	manifests  *string
	dockerfile *bool
	workload   workloadFlags

	platforms []codegen.Platform
}

func addShipFlags(fs *flag.FlagSet) *shipFlags {
	return &shipFlags{
		platform:   fs.String("platform", "", "cross-compile for `LIST`, e.g. linux/amd64,linux/arm64; several make an image index (default: this machine, linux for images)"),
		image:      fs.String("image", "", "write an OCI image archive to `FILE.tar` (docker load and podman load read it)"),
		layout:     fs.String("image-layout", "", "write the image as an OCI image layout in `DIR`"),
		push:       fs.String("push", "", "push the image to `REF` with docker login's credentials and credential helpers"),
		base:       fs.String("base", "", "base image `REF|FILE.tar` (default: scratch with a CA bundle)"),
		tag:        fs.String("tag", "ingress:latest", "the image's name `REF` in --image and --image-layout, and in --manifests when not pushing"),
		caBundle:   fs.String("ca-bundle", image.DefaultCABundle, "the CA bundle `FILE` copied into the scratch image"),
		manifests:  fs.String("manifests", "", "write the Kubernetes objects (Deployment, Service, autoscaler, disruption budget) to `DIR`/NAME.yaml"),
		dockerfile: fs.Bool("dockerfile", false, "write a Dockerfile beside the binary, for docker build"),
		workload:   addWorkloadFlags(fs),
	}
}

func (s *shipFlags) wantImage() bool {
	return *s.image != "" || *s.layout != "" || *s.push != ""
}

// targets checks the platforms and names the binaries to build: -o for one
// platform, -o-OS-ARCH for each of several.
func (s *shipFlags) targets(ctx context.Context, out string) ([]codegen.Target, error) {
	switch {
	case *s.platform != "":
		ps, err := codegen.ParsePlatforms(*s.platform)
		if err != nil {
			return nil, fmt.Errorf("--platform: %w", err)
		}
		if err := codegen.CheckPlatforms(ctx, ps); err != nil {
			return nil, fmt.Errorf("--platform: %w", err)
		}
		s.platforms = ps
	case s.wantImage():
		// Containers run Linux whatever the build machine is.
		s.platforms = []codegen.Platform{{OS: "linux", Arch: runtime.GOARCH}}
	default:
		return []codegen.Target{{Out: out}}, nil
	}
	if s.wantImage() {
		for _, p := range s.platforms {
			if p.OS != "linux" {
				return nil, fmt.Errorf("--platform %s: images hold Linux binaries only", p)
			}
		}
	}
	if *s.dockerfile && strings.ContainsAny(filepath.Base(out), " \t\"'$\\") {
		return nil, fmt.Errorf("--dockerfile: the binary's name %q cannot be written into a Dockerfile COPY; pick a plainer -o", filepath.Base(out))
	}
	if len(s.platforms) == 1 {
		return []codegen.Target{{Platform: s.platforms[0], Out: out}}, nil
	}
	var ts []codegen.Target
	for _, p := range s.platforms {
		ts = append(ts, codegen.Target{Platform: p, Out: platformOut(out, p)})
	}
	return ts, nil
}

// ship does what the flags ask after the binaries are built: push first
// (a registry is what most often fails), then the archive and layout,
// each written aside and renamed, then the objects and the Dockerfile.
func (s *shipFlags) ship(ctx context.Context, cfg *ir.Config, targets []codegen.Target, out string, stderr io.Writer) error {
	if !s.wantImage() && *s.manifests == "" && !*s.dockerfile {
		return nil
	}
	ports, err := manifests.Ports(cfg)
	if err != nil {
		return err
	}
	labels := map[string]string{
		"org.opencontainers.image.title": "gwc ingress",
		"dev.gwc.version":                gwcVersion(),
		"dev.gwc.resources.digest":       "sha256:" + cfg.Digest,
	}
	ref := *s.tag
	if s.wantImage() {
		start := time.Now()
		created, err := image.Created(os.Getenv)
		if err != nil {
			return err
		}
		spec := image.Spec{
			Base:     *s.base,
			CABundle: *s.caBundle,
			Cmd:      manifests.ListenArgs(ports),
			Ports:    manifests.ContainerPorts(ports),
			Labels:   labels,
			Created:  created,
		}
		spec.Labels["org.opencontainers.image.created"] = created.Format(time.RFC3339)
		if *s.base != "" {
			spec.Labels["org.opencontainers.image.base.name"] = *s.base
		}
		for _, t := range targets {
			spec.Binaries = append(spec.Binaries, image.Binary{Platform: t.Platform, Path: t.Out})
		}
		a, err := image.Build(ctx, spec)
		if err != nil {
			return err
		}
		d, err := a.Digest()
		if err != nil {
			return fmt.Errorf("computing the image digest: %w", err)
		}
		step(stderr, "image", time.Since(start), d.String())
		if *s.push != "" {
			start = time.Now()
			if ref, err = image.Push(ctx, *s.push, a, nil); err != nil {
				return err
			}
			step(stderr, "push", time.Since(start), ref)
		}
		if *s.image != "" {
			start = time.Now()
			if err := image.WriteArchive(*s.image, a, *s.tag, created); err != nil {
				return err
			}
			step(stderr, "image archive", time.Since(start), *s.image)
		}
		if *s.layout != "" {
			start = time.Now()
			if err := image.WriteLayout(*s.layout, a, *s.tag); err != nil {
				return err
			}
			step(stderr, "image layout", time.Since(start), *s.layout)
		}
	}
	if *s.manifests != "" {
		start := time.Now()
		spec, err := manifestSpec(cfg, ports, ref, s.workload)
		if err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		data, err := manifests.Render(spec)
		if err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		if err := os.MkdirAll(*s.manifests, 0o755); err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		file := filepath.Join(*s.manifests, *s.workload.name+".yaml")
		if err := writeFileAtomic(file, data); err != nil {
			return fmt.Errorf("writing the manifests: %w", err)
		}
		step(stderr, "manifests", time.Since(start), file)
	}
	if *s.dockerfile {
		d := manifests.Dockerfile{
			Binary: filepath.Base(out),
			Ports:  manifests.ContainerPorts(ports),
			Cmd:    manifests.ListenArgs(ports),
			Labels: labels,
			User:   image.User,
		}
		if len(targets) > 1 {
			d.Binary, d.MultiPlatform = filepath.Base(out)+"-${TARGETOS}-${TARGETARCH}", true
			for _, t := range targets {
				if t.Platform.Variant != "" {
					return errors.New("--dockerfile: platform variants (linux/arm/v7) have no Dockerfile build argument to name their binary; build one Dockerfile per variant")
				}
			}
		}
		data, err := manifests.RenderDockerfile(d)
		if err != nil {
			return err
		}
		file := filepath.Join(filepath.Dir(out), "Dockerfile")
		if err := writeFileAtomic(file, data); err != nil {
			return fmt.Errorf("writing the Dockerfile: %w", err)
		}
		step(stderr, "dockerfile", 0, file)
	}
	return nil
}
