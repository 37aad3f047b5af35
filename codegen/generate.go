// Package codegen turns the IR into the Go source of an ingress binary,
// writes the generated module and builds it with the Go toolchain.
package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"maps"
	pathpkg "path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/templates"
)

// File is one generated source file.
type File struct {
	Name string
	Data []byte
}

// Generate renders the ingress's Go source: main.go, and config.go, which
// holds the lowered configuration (RuntimeConfig) as a literal. The output
// depends only on cfg, so the same IR always gives the same bytes. It
// checks the route tables as the runtime would at start (checkTables): the
// literal is marked Generated, and the binary prepares its virtual hosts
// on first use.
func Generate(cfg *ir.Config) ([]File, error) {
	rc, n, err := lower(cfg)
	if err != nil {
		return nil, err
	}
	rc.Generated = true
	files, err := render(rc, n, true)
	if err != nil {
		return nil, err
	}
	// After printing: preparing may rewrite what it prepares.
	if err := checkTables(rc); err != nil {
		return nil, err
	}
	return files, nil
}

// generate lowers and renders cfg without checking its tables; split
// prints and formats each virtual host on its own (see hosts.go), which
// gives the same bytes as formatting the whole file, sooner.
func generate(cfg *ir.Config, split bool) ([]File, error) {
	rc, n, err := lower(cfg)
	if err != nil {
		return nil, err
	}
	rc.Generated = true
	return render(rc, n, split)
}

// render prints rc into config.go and renders main.go.
func render(rc *runtime.Config, n *notes, split bool) ([]File, error) {
	p := newPrinter(rc, n)
	hosts := &hostSlots{cfg: rc, notes: n, imports: p.imports}
	if split {
		p.hosts = hosts
	}
	p.value(reflect.ValueOf(rc), false)
	if p.err != nil {
		return nil, p.err
	}
	bodies, err := hosts.formatAll()
	if err != nil {
		return nil, fmt.Errorf("formatting config.go: %w", err)
	}
	data := struct {
		Sources []string
		Imports []string
		Literal string
	}{Sources: rc.Sources, Imports: importLines(p.imports), Literal: string(p.b)}
	tmpl, err := template.New("").Funcs(template.FuncMap{"comment": comment}).ParseFS(templates.FS, "ingress.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing templates: %w", err)
	}
	var files []File
	for _, name := range []string{"main.go", "config.go"} {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", name, err)
		}
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("formatting %s: %w\n%s", name, err, numbered(buf.Bytes()))
		}
		if name == "config.go" {
			if src, err = hosts.splice(src, bodies); err != nil {
				return nil, fmt.Errorf("formatting %s: %w", name, err)
			}
		}
		files = append(files, File{Name: name, Data: src})
	}
	return files, nil
}

// importLines writes the import specs of paths: the standard library's,
// then gwc's under the names the printer uses, each group sorted.
func importLines(paths map[string]bool) []string {
	var std, gwc []string
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		if q, ok := qualifiers[path]; ok {
			spec := strconv.Quote(path)
			if q != pathpkg.Base(path) {
				spec = q + " " + spec
			}
			gwc = append(gwc, spec)
			continue
		}
		std = append(std, strconv.Quote(path))
	}
	if len(std) > 0 && len(gwc) > 0 {
		std = append(std, "")
	}
	return append(std, gwc...)
}

// comment makes s safe inside a // comment: a line break or other control
// character in a config string must not end the comment and start code,
// and bytes the Go scanner refuses anywhere (invalid UTF-8, a byte order
// mark) must not stop the source from compiling.
func comment(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\ufeff'
	}) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func numbered(src []byte) string {
	var b strings.Builder
	for i, line := range strings.Split(string(src), "\n") {
		fmt.Fprintf(&b, "%5d  %s\n", i+1, line)
	}
	return b.String()
}
