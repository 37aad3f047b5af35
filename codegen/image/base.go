package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// resolveBase returns the base image of each binary, in order.
func resolveBase(ctx context.Context, base string, bins []Binary, kc authn.Keychain) ([]v1.Image, error) {
	out := make([]v1.Image, len(bins))
	if base == "" {
		scratch := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		scratch = mutate.ConfigMediaType(scratch, types.OCIConfigJSON)
		for i := range bins {
			out[i] = scratch
		}
		return out, nil
	}
	if strings.HasSuffix(base, ".tar") {
		img, err := tarball.ImageFromPath(base, nil)
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", base, err)
		}
		for i, b := range bins {
			if err := checkPlatform(img, base, b); err != nil {
				return nil, err
			}
			out[i] = img
		}
		return out, nil
	}
	ref, err := name.ParseReference(base)
	if err != nil {
		return nil, fmt.Errorf("base image %q: %w", base, err)
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc))
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", base, registryError(err))
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("base image %s: %w", base, err)
		}
		for i, b := range bins {
			if err := checkPlatform(img, base, b); err != nil {
				return nil, err
			}
			out[i] = img
		}
		return out, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", base, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", base, err)
	}
	for i, b := range bins {
		want := v1Platform(b.Platform)
		var found *v1.Descriptor
		for j, m := range im.Manifests {
			if m.Platform != nil && m.Platform.OS == want.OS && m.Platform.Architecture == want.Architecture &&
				(want.Variant == "" || m.Platform.Variant == want.Variant) {
				found = &im.Manifests[j]
				break
			}
		}
		if found == nil {
			return nil, fmt.Errorf("base image %s has no image for %s", base, platformName(b.Platform))
		}
		if out[i], err = idx.Image(found.Digest); err != nil {
			return nil, fmt.Errorf("base image %s for %s: %w", base, platformName(b.Platform), registryError(err))
		}
	}
	return out, nil
}

// checkPlatform fails when a single-platform base cannot serve b.
func checkPlatform(img v1.Image, base string, b Binary) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("base image %s: reading its config: %w", base, err)
	}
	want := v1Platform(b.Platform)
	if cf.OS != want.OS || cf.Architecture != want.Architecture {
		return fmt.Errorf("base image %s is %s/%s, not %s: name a multi-platform base or a base per platform", base, cf.OS, cf.Architecture, platformName(b.Platform))
	}
	return nil
}

// registryError adds what to do to the registry errors users meet most.
func registryError(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("the registry refused the credentials (log in with docker login or configure a credential helper): %w", err)
		case http.StatusNotFound:
			return fmt.Errorf("not found: %w", err)
		}
	}
	return err
}
