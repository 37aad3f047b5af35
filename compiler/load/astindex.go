package load

import (
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// Walking a document's CUE value to index its positions orders the
// fields of every struct, which cost as much as a tenth of loading a
// large input. A YAML or JSON document is plain data, so its syntax tree
// holds the same fields and positions: indexSyntax reads them there,
// and leaves anything else (a CUE file's value, a tree with a node that
// is not plain data or lacks a position) to indexPositions. A test checks
// that both give the same index on every input of gwc's tests.

// indexDoc indexes the positions of a YAML or JSON document.
func indexDoc(doc cue.Value) posIndex {
	if !cueIndex {
		if lit, ok := doc.Source().(*ast.StructLit); ok {
			p := toDiagPos(doc.Pos())
			idx := posIndex{"": {key: p, value: p}}
			if indexSyntax(idx, lit, nil, 0) {
				return idx
			}
		}
	}
	return indexPositions(doc)
}

// cueIndex makes indexDoc always walk the CUE value; tests set it to
// compare both ways.
var cueIndex = false

// indexSyntax records the positions below e, reporting false if e is not
// plain data with positions.
func indexSyntax(idx posIndex, e ast.Expr, path []seg, depth int) bool {
	if depth > maxDepth {
		return true
	}
	switch x := e.(type) {
	case *ast.StructLit:
		for _, d := range x.Elts {
			f, ok := d.(*ast.Field)
			if !ok || f.Constraint != token.ILLEGAL || f.Value == nil {
				return false
			}
			name, isIdent, err := ast.LabelName(f.Label)
			if err != nil || isIdent && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, "#")) {
				return false
			}
			key, val := f.Label.Pos(), f.Value.Pos()
			if !key.IsValid() || !val.IsValid() {
				return false
			}
			child := append(path[:len(path):len(path)], keySeg(name))
			idx[formatPath(child)] = fieldPos{key: toDiagPos(key), value: toDiagPos(val)}
			if !indexSyntax(idx, f.Value, child, depth+1) {
				return false
			}
		}
	case *ast.ListLit:
		for i, el := range x.Elts {
			p := el.Pos()
			if !p.IsValid() {
				return false
			}
			child := append(path[:len(path):len(path)], idxSeg(i))
			idx[formatPath(child)] = fieldPos{key: toDiagPos(p), value: toDiagPos(p)}
			if !indexSyntax(idx, el, child, depth+1) {
				return false
			}
		}
	case *ast.BasicLit:
	case *ast.UnaryExpr:
		if _, ok := x.X.(*ast.BasicLit); !ok {
			return false
		}
	default:
		return false
	}
	return true
}
