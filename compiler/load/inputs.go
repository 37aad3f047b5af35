package load

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// input is one file to read.
type input struct {
	path    string // as given or found, for the OS
	display string // as printed in diagnostics
}

var extensions = []string{".yaml", ".yml", ".json", ".cue"}

func supported(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range extensions {
		if ext == e {
			return true
		}
	}
	return false
}

// inputs expands paths into the files to read, in order, each once.
func (l *loader) inputs(paths []string) []input {
	var out []input
	seen := map[string]bool{}
	addFile := func(p string) {
		key := p
		if abs, err := filepath.Abs(p); err == nil {
			key = abs
		}
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, input{path: p, display: displayPath(p)})
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			l.errorf(diag.CodeInput, diag.Pos{File: displayPath(p)}, "", "", "cannot read input: "+pathErr(err), "check the path")
			continue
		}
		if !fi.IsDir() {
			if !supported(p) {
				l.errorf(diag.CodeInput, diag.Pos{File: displayPath(p)}, "", "",
					"unsupported file type "+quoteExt(p),
					"gwc reads .yaml, .yml, .json and .cue files")
				continue
			}
			addFile(p)
			continue
		}
		found := 0
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				l.errorf(diag.CodeInput, diag.Pos{File: displayPath(q)}, "", "", "cannot read input: "+pathErr(err), "check the permissions")
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			hidden := q != p && strings.HasPrefix(d.Name(), ".")
			if d.IsDir() {
				if hidden {
					return fs.SkipDir
				}
				return nil
			}
			if hidden || !supported(q) || !regularFile(q, d) {
				return nil
			}
			found++
			addFile(q)
			return nil
		})
		if err != nil {
			l.errorf(diag.CodeInput, diag.Pos{File: displayPath(p)}, "", "", "cannot read input: "+pathErr(err), "check the path")
		}
		if found == 0 {
			l.add(diag.Diagnostic{Pos: diag.Pos{File: displayPath(p)}, Severity: diag.Warning, Code: diag.CodeInput,
				Message: "directory holds no .yaml, .yml, .json or .cue files", Hint: "name the files to read"})
		}
	}
	return out
}

// regularFile reports whether a directory entry is a file to read,
// following a symbolic link (WalkDir itself does not).
func regularFile(p string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// loadPath reads one input file and everything in it.
func (l *loader) loadPath(in input) {
	data, err := os.ReadFile(in.path)
	if err != nil {
		l.flush()
		l.errorf(diag.CodeInput, diag.Pos{File: in.display}, "", "", "cannot read input: "+pathErr(err), "check the path and its permissions")
		return
	}
	l.readFile(in.display, data)
}

// displayPath is p relative to the working directory when it is inside it,
// absolute otherwise, with forward slashes.
func displayPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil &&
			rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(abs)
}

// pathErr is the reason of a file system error without the path, which
// the diagnostic already shows.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func quoteExt(p string) string {
	ext := filepath.Ext(p)
	if ext == "" {
		return "(no extension)"
	}
	return `"` + ext + `"`
}

// DisplayPath is how diagnostics name the file or directory p: relative
// to the working directory when inside it, slash-separated.
func DisplayPath(p string) string { return displayPath(p) }
