package codegen

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// hostileConfig puts s into every string of the IR that reaches the
// generated source, as a literal or in a comment.
func hostileConfig(s string) *ir.Config {
	origin := ir.Origin{Pos: diag.Pos{File: s, Line: 1, Col: 1}, Resource: s, Field: s}
	return &ir.Config{
		Digest:  s,
		Sources: []string{s},
		Listeners: []ir.Listener{{
			Port: 80, Protocol: "HTTP", Bind: s, Servers: []ir.Origin{origin},
			VirtualHosts: []ir.VirtualHost{
				{Domain: "a.example.com", Routes: []ir.Route{{
					Origin: origin, Name: s,
					Matches: []ir.Match{{
						URI:     ir.StringMatch{Kind: "prefix", Value: s},
						Method:  ir.StringMatch{Kind: "regex", Value: s},
						Headers: []ir.HeaderMatch{{Name: s, Match: ir.StringMatch{Kind: "exact", Value: s}}},
					}},
					Destinations: []ir.Destination{{Cluster: 0, Weight: 1}},
				}}},
				{Domain: "*." + strings.ToLower(s)},
				{Domain: strings.ToLower(s)},
			},
		}},
		Clusters: []ir.Cluster{{Name: s, Host: s, Port: 1, Origin: &origin, Endpoints: []ir.Endpoint{{Host: s, Port: 2, Weight: 1}}}},
	}
}

// checkNoInjection parses the generated files and checks they declare
// exactly what the template declares, and that s appears intact as a
// string literal: nothing from s became code.
func checkNoInjection(t *testing.T, s string, files []File) {
	t.Helper()
	want := map[string][]string{"main.go": {"import", "var _", "func main"}, "config.go": {"import", "var config"}}
	for _, f := range files {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f.Name, f.Data, parser.ParseComments)
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", f.Name, err, f.Data)
		}
		var got []string
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				got = append(got, "func "+d.Name.Name)
			case *ast.GenDecl:
				if d.Tok == token.IMPORT {
					got = append(got, "import")
				} else {
					got = append(got, d.Tok.String()+" "+d.Specs[0].(*ast.ValueSpec).Names[0].Name)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want[f.Name], ",") {
			t.Fatalf("%s declares %v, want %v", f.Name, got, want[f.Name])
		}
		if f.Name != "config.go" {
			continue
		}
		found := false
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil && v == s {
					found = true
				}
			}
			return true
		})
		if !found {
			t.Fatalf("%q does not appear as a string literal in config.go", s)
		}
	}
}

func TestGenerateQuotesHostileStrings(t *testing.T) {
	for _, s := range []string{
		`plain`,
		`"; } func init() { panic("owned") } var _ = "`,
		"line\nbreak } func init() { panic(1) }\n//",
		"*/ func init() {} /*",
		"back\\slash\x00nul\u2028sep\r\n",
		"`raw` ${x} %s {{.}}",
	} {
		// generate, not Generate: the quoting is under test, and s is also
		// a method regex, which Generate's route check may refuse.
		files, err := generate(hostileConfig(s), true)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		checkNoInjection(t, s, files)
	}
}

func FuzzGenerateQuoting(f *testing.F) {
	f.Add(`"; } func init() {} //`)
	f.Add("a\nb")
	f.Add("*/")
	f.Add("bad\xffutf8")
	f.Add("bom\ufeffinside")
	f.Fuzz(func(t *testing.T, s string) {
		files, err := generate(hostileConfig(s), true) // as TestGenerateQuotesHostileStrings
		if err != nil {
			// Only duplicate host keys are refused; they are not an injection.
			if strings.Contains(err.Error(), "duplicate") {
				return
			}
			t.Fatal(err)
		}
		checkNoInjection(t, s, files)
	})
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := Generate(hostileConfig("x.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(hostileConfig("x.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("%s differs between two runs", a[i].Name)
		}
	}
}
