package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rogpeppe/go-internal/txtar"
	"sigs.k8s.io/yaml"
)

// sample is one document of the corpus with where it comes from.
type sample struct {
	origin string // file:line in the repository, or the mutation applied
	data   []byte // one YAML or JSON document
}

// repoSamples collects every Istio resource of the judged kinds the repository
// holds: YAML files (examples, testdata), the YAML sections of txtar
// archives and the yaml blocks of the docs.
func repoSamples(root string) ([]sample, error) {
	var out []sample
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "oracle" || rel == "bin" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch ext := filepath.Ext(path); ext {
		case ".yaml", ".yml":
			out = append(out, documents(rel, 1, data)...)
		case ".txtar":
			a := txtar.Parse(data)
			line := 1 + bytes.Count(a.Comment, []byte("\n"))
			for _, f := range a.Files {
				line++ // the -- name -- line
				if e := filepath.Ext(f.Name); e == ".yaml" || e == ".yml" {
					out = append(out, documents(rel+":"+f.Name, line, f.Data)...)
				}
				line += bytes.Count(f.Data, []byte("\n"))
			}
		case ".md":
			for _, m := range yamlBlock.FindAllSubmatchIndex(data, -1) {
				line := 1 + bytes.Count(data[:m[2]], []byte("\n"))
				out = append(out, documents(rel, line, data[m[2]:m[3]])...)
			}
		}
		return nil
	})
	return out, err
}

var yamlBlock = regexp.MustCompile("(?ms)^```ya?ml\n(.*?)^```")

// documents returns the judged Istio resources of a YAML stream.
func documents(origin string, first int, data []byte) []sample {
	var out []sample
	for _, d := range splitDocuments(data) {
		if !isIstio(d.text) {
			continue
		}
		out = append(out, sample{origin: origin + ":" + itoa(first+d.line-1), data: d.text})
	}
	return out
}

// isIstio reports whether a document parses as one of the kinds the
// oracle judges; documents that do not parse are the loader's business
// (both sides reject them) and are left out of the figure.
func isIstio(doc []byte) bool {
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if yaml.Unmarshal(doc, &m) != nil {
		return false
	}
	group, _, _ := strings.Cut(m.APIVersion, "/")
	return kinds[group][m.Kind]
}
