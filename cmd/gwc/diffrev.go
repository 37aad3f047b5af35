package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gwc diff --rev: the OLD side is PATH... as git has them at a revision,
// written out of `git archive` into a temporary directory.

type revCheckout struct {
	root  string   // the temporary directory, the repository's top
	paths []string // PATH... under root
}

func checkoutRev(rev string, paths []string) (*revCheckout, func(), error) {
	tmp, err := os.MkdirTemp("", "gwc-diff-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	co := &revCheckout{root: tmp}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		dir := abs
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			dir = filepath.Dir(abs)
		}
		top, err := git(dir, "rev-parse", "--show-toplevel")
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s is not in a git repository: %v", p, err)
		}
		top = strings.TrimSpace(top)
		rel, err := filepath.Rel(top, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			cleanup()
			return nil, nil, fmt.Errorf("%s is outside its repository %s", p, top)
		}
		archive, err := git(top, "archive", "--format=tar", rev, "--", filepath.ToSlash(rel))
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s at %s: %v", p, rev, err)
		}
		if err := untar(tmp, strings.NewReader(archive)); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s at %s: %v", p, rev, err)
		}
		co.paths = append(co.paths, filepath.Join(tmp, rel))
	}
	return co, cleanup, nil
}

// git runs git in dir and returns its output; the error holds its stderr.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return out.String(), nil
}

// untar writes the regular files of a tar stream under dir.
func untar(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("unsafe path %q in the archive", h.Name)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.Create(dst)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
