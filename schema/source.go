package schema

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
)

// Source returns the schema as one self-contained CUE file, package
// istio: the .cue files of this package with their imports merged. A
// repository that has gwc but not its source vets its manifests with the
// stock cue command against this file (gwc schema --format cue).
func Source() ([]byte, error) {
	names, err := fs.Glob(FS, "*.cue")
	if err != nil {
		return nil, fmt.Errorf("listing schema files: %w", err)
	}
	sort.Strings(names)
	imports := map[string]bool{}
	var body []ast.Decl
	for _, name := range names {
		src, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading schema file: %w", err)
		}
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parsing schema file: %w", err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.Package:
			case *ast.ImportDecl:
				for _, s := range d.Specs {
					if s.Name != nil {
						return nil, fmt.Errorf("schema file %s: named import %s: not supported when merging", name, s.Name.Name)
					}
					imports[s.Path.Value] = true
				}
			default:
				body = append(body, d)
			}
		}
	}
	paths := make([]string, 0, len(imports))
	for p := range imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	decl := &ast.ImportDecl{}
	for _, p := range paths {
		u, err := strconv.Unquote(p)
		if err != nil {
			return nil, fmt.Errorf("import path %s: %w", p, err)
		}
		decl.Specs = append(decl.Specs, ast.NewImport(nil, u))
	}
	f := &ast.File{Decls: append([]ast.Decl{&ast.Package{Name: ast.NewIdent("istio")}, decl}, body...)}
	ast.AddComment(f, &ast.CommentGroup{Doc: true, List: []*ast.Comment{{Text: "// The Istio networking schema of gwc (gwc schema --format cue). Generated: do not edit."}}})
	out, err := format.Node(f)
	if err != nil {
		return nil, fmt.Errorf("formatting schema: %w", err)
	}
	return out, nil
}
