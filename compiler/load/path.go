package load

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// A seg is one step of a field path: a field name or a list index.
type seg struct {
	key   string
	index int
	isIdx bool
}

func keySeg(k string) seg { return seg{key: k} }
func idxSeg(i int) seg    { return seg{index: i, isIdx: true} }

// formatPath writes a path as gwc prints it: spec.http[0].match[0].uri.
// Names that are not plain words are quoted: headers["x-b3.id"].
func formatPath(p []seg) string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case plainKey(s.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Quote(s.key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// plainKey reports whether k can be written after a dot and read back.
func plainKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parsePath reads a path written by formatPath. It reports false for text
// that is not such a path.
func parsePath(s string) ([]seg, bool) {
	var p []seg
	i := 0
	// A bare name may start the path or follow a dot, nothing else.
	bare := true
	for i < len(s) {
		switch c := s[i]; {
		case c == '[':
			rest := s[i+1:]
			if strings.HasPrefix(rest, `"`) {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil || !strings.HasPrefix(rest[len(q):], "]") {
					return nil, false
				}
				k, err := strconv.Unquote(q)
				if err != nil {
					return nil, false
				}
				p = append(p, keySeg(k))
				i += 1 + len(q) + 1
			} else {
				end := strings.IndexByte(rest, ']')
				if end < 0 {
					return nil, false
				}
				n, err := strconv.Atoi(rest[:end])
				if err != nil || n < 0 || rest[0] == '+' || rest[0] == '-' {
					return nil, false
				}
				p = append(p, idxSeg(n))
				i += 1 + end + 1
			}
			bare = false
		case c == '.':
			if len(p) == 0 || i == len(s)-1 || s[i+1] == '.' || s[i+1] == '[' {
				return nil, false
			}
			i++
			bare = true
		case bare:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			p = append(p, keySeg(s[i:j]))
			i = j
			bare = false
		default:
			return nil, false
		}
	}
	return p, true
}

// cuePath converts a field path to a CUE path for looking up data.
func cuePath(p []seg) cue.Path {
	sels := make([]cue.Selector, len(p))
	for i, s := range p {
		if s.isIdx {
			sels[i] = cue.Index(s.index)
		} else {
			sels[i] = cue.Str(s.key)
		}
	}
	return cue.MakePath(sels...)
}

// fieldPos holds where a field's name and its value start in the input.
type fieldPos struct {
	key, value diag.Pos
}

// posIndex maps each field path of a document to its positions.
type posIndex map[string]fieldPos

// indexPositions records the positions of every value in doc. It bounds its
// depth so a pathological document cannot exhaust the stack.
func indexPositions(doc cue.Value) posIndex {
	idx := posIndex{}
	p := toDiagPos(doc.Pos())
	idx[""] = fieldPos{key: p, value: p}
	indexValue(idx, doc, nil, 0)
	return idx
}

const maxDepth = 100

func indexValue(idx posIndex, v cue.Value, path []seg, depth int) {
	if depth > maxDepth {
		return
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		it, err := v.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			sel := it.Selector()
			if !sel.IsString() {
				continue
			}
			child := append(path[:len(path):len(path)], keySeg(sel.Unquoted()))
			idx[formatPath(child)] = positionsOf(it.Value())
			indexValue(idx, it.Value(), child, depth+1)
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return
		}
		for i := 0; it.Next(); i++ {
			child := append(path[:len(path):len(path)], idxSeg(i))
			p := positionsOf(it.Value())
			p.key = p.value
			idx[formatPath(child)] = p
			indexValue(idx, it.Value(), child, depth+1)
		}
	}
}

// positionsOf finds where a value and, for a field, its name start.
func positionsOf(v cue.Value) fieldPos {
	p := toDiagPos(v.Pos())
	fp := fieldPos{key: p, value: p}
	if f, ok := v.Source().(*ast.Field); ok {
		if k := toDiagPos(f.Label.Pos()); k.File != "" {
			fp.key = k
		}
		if val := toDiagPos(f.Value.Pos()); val.File != "" {
			fp.value = val
		}
	}
	return fp
}

func toDiagPos(p token.Pos) diag.Pos {
	if !p.IsValid() {
		return diag.Pos{}
	}
	return diag.Pos{File: p.Filename(), Line: p.Line(), Col: p.Column()}
}

// lookup returns the positions of the value at path, or of its nearest
// ancestor that exists.
func (idx posIndex) lookup(path []seg) fieldPos {
	for n := len(path); n >= 0; n-- {
		if fp, ok := idx[formatPath(path[:n])]; ok && fp.value.File != "" {
			return fp
		}
	}
	return fieldPos{}
}
