package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteLayout writes a as an OCI image layout in dir, tagged tag. It builds
// the layout aside and renames it into place, so a failure leaves dir as
// it was; an existing dir is replaced only when it is an OCI layout (or
// empty), never a directory of something else.
func WriteLayout(dir string, a Artifact, tag string) error {
	if err := replaceable(dir); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := writeLayout(tmp, a, tag); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	old := tmp + ".old"
	if _, err := os.Stat(abs); err == nil {
		if err := os.Rename(abs, old); err != nil {
			return fmt.Errorf("replacing %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Rename(old, abs)
		return fmt.Errorf("writing the image layout: %w", err)
	}
	os.RemoveAll(old)
	return nil
}

func replaceable(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("image layout %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return fmt.Errorf("image layout %s: the directory exists and is not an OCI image layout; refusing to replace it", dir)
	}
	return nil
}

func writeLayout(dir string, a Artifact, tag string) error {
	t, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	ann := layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": t.TagStr(),
		"io.containerd.image.name":          containerdName(t),
	})
	if a.Index != nil {
		err = p.AppendIndex(a.Index, ann)
	} else {
		err = p.AppendImage(a.Image, ann)
	}
	if err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	return nil
}

// containerdName is the fully qualified name containerd (and so Docker's
// OCI loader) expects: docker.io/library/ingress:latest.
func containerdName(t name.Tag) string {
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}

// WriteArchive writes a to file as one tar that both docker load and
// podman load accept: an OCI image layout, plus, for a single-platform
// image, the manifest.json that older Docker versions read. The tar is
// written aside and renamed into place; its bytes depend only on a, tag
// and created.
func WriteArchive(file string, a Artifact, tag string, created time.Time) error {
	tmpDir, err := os.MkdirTemp("", "gwc-image-")
	if err != nil {
		return fmt.Errorf("writing the image archive: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	if err := writeLayout(tmpDir, a, tag); err != nil {
		return err
	}
	extra := map[string][]byte{}
	if a.Image != nil {
		m, err := dockerManifest(a.Image, tag)
		if err != nil {
			return err
		}
		extra["manifest.json"] = m
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", file, err)
	}
	out, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing the image archive: %w", err)
	}
	defer os.Remove(out.Name())
	err = tarDir(out, tmpDir, extra, created)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(out.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("writing the image archive: %w", err)
	}
	if err := os.Rename(out.Name(), abs); err != nil {
		return fmt.Errorf("writing the image archive: %w", err)
	}
	return nil
}

// dockerManifest is the manifest.json of docker save, pointing at the
// layout's blobs.
func dockerManifest(img v1.Image, tag string) ([]byte, error) {
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("writing the image archive: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("writing the image archive: %w", err)
	}
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blobPath(cfg), RepoTags: []string{tag}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("writing the image archive: %w", err)
		}
		entry.Layers = append(entry.Layers, blobPath(d))
	}
	return json.Marshal([]any{entry})
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// tarDir writes the files under dir, and extra, as a tar with sorted
// entries, fixed modes, owners and times.
func tarDir(w io.Writer, dir string, extra map[string][]byte, mtime time.Time) error {
	type file struct {
		name string
		dir  bool
		data []byte
		path string
	}
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, file{name: filepath.ToSlash(rel), dir: d.IsDir(), path: p})
		return nil
	})
	if err != nil {
		return err
	}
	for n, data := range extra {
		files = append(files, file{name: n, data: data})
	}
	slices.SortFunc(files, func(a, b file) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	tw := tar.NewWriter(w)
	for _, f := range files {
		if f.dir {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.name + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return err
			}
			continue
		}
		data := f.data
		if f.path != "" {
			if data, err = os.ReadFile(f.path); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}
