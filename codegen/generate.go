// Package codegen turns the IR into the Go source of an ingress binary,
// writes the generated module and builds it with the Go toolchain.
package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"net"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/templates"
)

// File is one generated source file.
type File struct {
	Name string
	Data []byte
}

// listenerView is an ir.Listener with its host router rendered.
type listenerView struct {
	ir.Listener
	Router string
}

// Generate renders the ingress's Go source. The output depends only on cfg,
// so the same IR always gives the same bytes. It first checks the route
// tables as the runtime would at start (checkTables): the literal is
// marked Generated, and the binary prepares its virtual hosts on first use.
func Generate(cfg *ir.Config) ([]File, error) {
	if err := checkTables(cfg); err != nil {
		return nil, err
	}
	return generate(cfg, true)
}

// generate renders the source; split formats each virtual host on its
// own (see hosts.go), which gives the same bytes as formatting the whole
// file, sooner.
func generate(cfg *ir.Config, split bool) ([]File, error) {
	data := struct {
		*ir.Config
		Listeners []listenerView
	}{Config: cfg}
	for _, l := range cfg.Listeners {
		v, err := renderListener(l)
		if err != nil {
			return nil, err
		}
		data.Listeners = append(data.Listeners, v)
	}
	funcs := template.FuncMap{
		"quote":       strconv.Quote,
		"comment":     comment,
		"match":       matchLiteral,
		"hostPort":    func(h string, p int) string { return net.JoinHostPort(h, strconv.Itoa(p)) },
		"clusterName": func(i int) string { return cfg.Clusters[i].Name },
		"policy":      policyLiteral,
		"routeFields": routeFields,
		"destFields":  destFields,
		"strs":        stringsLiteral,
		"ints":        intsLiteral,
		"uint16s":     uint16sLiteral,
		"tlsMode":     tlsModeLiteral,
		"plugins":     pluginsLiteral,
	}
	hosts := &hostSlots{}
	funcs["virtualHost"] = hosts.placeholder
	if !split {
		funcs["virtualHost"] = hosts.inline
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templates.FS, "*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing templates: %w", err)
	}
	hosts.tmpl = tmpl
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
		if src, err = hosts.splice(src); err != nil {
			return nil, fmt.Errorf("formatting %s: %w", name, err)
		}
		files = append(files, File{Name: name, Data: src})
	}
	return files, nil
}

// renderListener builds the perfect-hash router of a listener's domains.
func renderListener(l ir.Listener) (listenerView, error) {
	r, err := hostRouter(l)
	if err != nil {
		return listenerView{}, err
	}
	return listenerView{Listener: l, Router: mph.RouterLiteral(r)}, nil
}

var matchKinds = map[string]string{
	"exact":   "gwcrt.MatchExact",
	"prefix":  "gwcrt.MatchPrefix",
	"regex":   "gwcrt.MatchRegex",
	"present": "gwcrt.MatchAny", // in a HeaderMatch: the header is present
}

func stringMatch(m ir.StringMatch) string {
	return fmt.Sprintf("gwcrt.StringMatch{Kind: %s, Value: %s}", matchKinds[m.Kind], strconv.Quote(m.Value))
}

// matchLiteral writes one gwcrt.Match; conditions that are absent are left
// out so the literal reads like the VirtualService.
func matchLiteral(m ir.Match) string {
	var parts []string
	if m.URI.Kind != "" {
		parts = append(parts, "Path: "+stringMatch(m.URI))
	}
	if m.Method.Kind != "" {
		parts = append(parts, "Method: "+stringMatch(m.Method))
	}
	if len(m.Headers) > 0 {
		var hs []string
		for _, h := range m.Headers {
			hs = append(hs, fmt.Sprintf("{Name: %s, Match: %s}", strconv.Quote(h.Name), stringMatch(h.Match)))
		}
		parts = append(parts, "Headers: []gwcrt.HeaderMatch{"+strings.Join(hs, ", ")+"}")
	}
	parts = append(parts, matchMoreFields(m)...)
	return "{" + strings.Join(parts, ", ") + "}"
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
