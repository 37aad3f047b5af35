package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push uploads a to the registry of ref with the credentials kc finds
// (authn.DefaultKeychain when nil: docker login and credential helpers)
// and returns the reference by digest that manifests should name.
func Push(ctx context.Context, ref string, a Artifact, kc authn.Keychain) (string, error) {
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("push reference %q: %w", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if a.Index != nil {
		err = remote.WriteIndex(r, a.Index, opts...)
	} else {
		err = remote.Write(r, a.Image, opts...)
	}
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, registryError(err))
	}
	d, err := a.Digest()
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return r.Context().Digest(d.String()).String(), nil
}
