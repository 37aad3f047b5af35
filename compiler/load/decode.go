package load

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	"cuelang.org/go/encoding/json"
	"cuelang.org/go/encoding/yaml"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// loadFile reads and validates the documents of one file, named as
// displayed.
func (l *loader) loadFile(name string, data []byte) {
	l.readFile(name, data)
	l.flush()
	l.stopPool()
}

// readFile reads the documents of one file, queueing its YAML and JSON
// documents (see flush).
func (l *loader) readFile(name string, data []byte) {
	l.guard(name, func() {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".yaml", ".yml":
			l.loadYAML(name, data)
		case ".json":
			l.loadJSON(name, data)
		case ".cue":
			l.loadCUE(name, data)
		}
	})
}

func (l *loader) loadYAML(name string, data []byte) {
	// Documents are queued as they are decoded, but only a file that
	// decodes to its end keeps them.
	queued := len(l.queue)
	defer func() {
		if r := recover(); r != nil {
			l.drop(queued)
			panic(r)
		}
	}()
	err := decodeYAML(name, data, func(e ast.Expr) { l.enqueue(name, e) })
	if err == nil {
		return
	}
	l.drop(queued)
	// Diagnostics stay in input order: validate what came before first.
	l.flush()
	// One broken document must not hide the others: parse each on its own,
	// padded with blank lines so that positions stay those of the file.
	// The padding grows with the square of the number of documents; past a
	// bound, report the first error only.
	chunks := splitYAML(data)
	padding := 0
	for _, c := range chunks {
		padding += c.line
	}
	if padding > maxYAMLPadding {
		l.yamlError(name, data, err)
		return
	}
	for _, c := range chunks {
		padded := append(bytes.Repeat([]byte("\n"), c.line-1), c.text...)
		var exprs []ast.Expr
		err := decodeYAML(name, padded, func(e ast.Expr) { exprs = append(exprs, e) })
		if err != nil {
			l.yamlError(name, padded, err)
			continue
		}
		for _, e := range exprs {
			l.dataDocument(name, e)
		}
	}
}

// decodeYAML passes each document of data to take as it is decoded.
func decodeYAML(name string, data []byte, take func(ast.Expr)) error {
	dec := yaml.NewDecoder(name, bytes.NewReader(data))
	for {
		e, err := dec.Extract()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		take(e)
	}
}

const maxYAMLPadding = 64 << 20

// yamlChunk is one document's text and the line it starts on.
type yamlChunk struct {
	line int
	text []byte
}

// splitYAML cuts a YAML stream at its document markers. YAML forbids
// "---" at the start of a line inside a scalar, so this split is safe.
func splitYAML(data []byte) []yamlChunk {
	var chunks []yamlChunk
	start, startLine, line := 0, 1, 1
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data) + 1
		if end >= 0 {
			next = i + end + 1
		}
		text := data[i:min(next, len(data))]
		if isDocMarker(text) && i > start {
			chunks = append(chunks, yamlChunk{line: startLine, text: data[start:i]})
			start, startLine = i, line
		}
		i = next
		line++
	}
	if start < len(data) {
		chunks = append(chunks, yamlChunk{line: startLine, text: data[start:]})
	}
	return chunks
}

func isDocMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

var (
	yamlLineRE      = regexp.MustCompile(`^(\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '([^']*)' referenced`)
)

// yamlError reports a YAML syntax error. The YAML parser gives a line but
// no column, so the column is that of the line's start.
func (l *loader) yamlError(name string, data []byte, err error) {
	msg := err.Error()
	pos := diag.Pos{File: name}
	if rest, ok := strings.CutPrefix(msg, name+":"); ok {
		msg = strings.TrimSpace(rest)
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			msg = m[2]
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				if yamlParserError(msg) {
					// The parser, unlike the scanner, counts lines from 0.
					n++
				}
				pos.Line, pos.Col = n, 1
			}
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if pos.Line == 0 && (yamlParserError(msg) || yamlScannerError(msg)) {
		// The YAML library leaves out line numbers that are 0, counting
		// from 0: the first line.
		pos.Line, pos.Col = 1, 1
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil && pos.Line == 0 {
		// The parser gives no position here: point at the first use.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			pos.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			pos.Col = 1 + i - (bytes.LastIndexByte(data[:i], '\n') + 1)
		}
	}
	l.errorf(diag.CodeSyntax, pos, "", "", "invalid YAML: "+msg, yamlHint(msg))
}

// yamlParserError reports whether a message comes from the YAML parser
// rather than its scanner (go.yaml.in/yaml/v3 parserc.go).
func yamlParserError(msg string) bool {
	for _, p := range []string{
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected '-' indicator",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %TAG directive",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found undefined tag handle",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// yamlScannerError reports whether a message comes from the YAML scanner
// (go.yaml.in/yaml/v3 scannerc.go).
func yamlScannerError(msg string) bool {
	for _, p := range []string{
		"block sequence entries are not allowed",
		"could not find expected",
		"did not find URI escaped octet",
		"did not find expected",
		"did not find the expected",
		"exceeded max depth",
		"found a tab character",
		"found an incorrect",
		"found an indentation indicator",
		"found character that cannot start any token",
		"found extremely long version number",
		"found invalid Unicode character escape code",
		"found unexpected",
		"found unknown",
		"mapping keys are not allowed",
		"mapping values are not allowed",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func yamlHint(msg string) string {
	switch {
	case strings.Contains(msg, "cannot start any token"):
		return "YAML indentation must use spaces, not tabs; quote values that start with a special character"
	case strings.Contains(msg, "mapping values are not allowed"):
		return `check the indentation, and quote values that contain ": "`
	case strings.Contains(msg, "contains itself"):
		return "an alias (*name) cannot stand inside the value its anchor (&name) marks"
	case strings.Contains(msg, "anchor"):
		return "define the anchor with &name before using it with *name"
	default:
		return "check the indentation and quoting on this line"
	}
}

func (l *loader) loadJSON(name string, data []byte) {
	dec := json.NewDecoder(nil, name, bytes.NewReader(data))
	// The JSON decoder records the file's lines as it goes, so documents
	// are queued, and may be validated, only once it has stopped.
	var exprs []ast.Expr
	defer func() {
		for _, e := range exprs {
			l.enqueue(name, e)
		}
	}()
	for {
		e, err := dec.Extract()
		if err == io.EOF {
			return
		}
		if err != nil {
			for _, e := range exprs {
				l.enqueue(name, e)
			}
			exprs = nil
			l.flush()
			// A JSON stream cannot be resumed after a syntax error.
			for _, ce := range cueErrors(err) {
				pos := toDiagPos(ce.Position())
				if pos.File == "" {
					pos.File = name
				}
				msg := ce.Error()
				if _, cause, ok := strings.Cut(msg, strconv.Quote(name)+": "); ok {
					msg = cause
				}
				l.errorf(diag.CodeSyntax, pos, "", "", "invalid JSON: "+msg, "check the commas, brackets and quotes near here")
			}
			return
		}
		exprs = append(exprs, e)
	}
}

func (l *loader) loadCUE(name string, data []byte) {
	// A CUE file is evaluated in the loader's own context, here and now;
	// the documents queued before it come first.
	l.flush()
	f, err := parser.ParseFile(name, data)
	if err != nil {
		l.cueError(name, "invalid CUE", err, "fix the CUE syntax")
		return
	}
	v := l.ctx.BuildFile(f)
	if err := v.Err(); err != nil {
		l.cueError(name, "invalid CUE", err, "run cue vet on this file for details")
		return
	}
	found := false
	l.cueDocuments(name, v, nil, 0, &found)
}

// cueDocuments finds the resources in the value of a CUE file.
func (l *loader) cueDocuments(name string, v cue.Value, path []seg, depth int, found *bool) {
	if depth > 32 {
		l.errorf(diag.CodeSyntax, toDiagPos(v.Pos()), "", formatPath(path), "resources nested too deeply", "keep resources within 32 levels of nesting")
		return
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		if isResource(v) {
			l.document(name, v, 0)
			return
		}
		it, err := v.Fields()
		if err != nil {
			l.cueError(name, "invalid CUE", err, "run cue vet on this file for details")
			return
		}
		for it.Next() {
			if it.Selector().IsString() {
				l.cueDocuments(name, it.Value(), append(path[:len(path):len(path)], keySeg(it.Selector().Unquoted())), depth+1, found)
			}
		}
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			l.cueError(name, "invalid CUE", err, "run cue vet on this file for details")
			return
		}
		for i := 0; it.Next(); i++ {
			l.cueDocuments(name, it.Value(), append(path[:len(path):len(path)], idxSeg(i)), depth+1, found)
		}
	default:
		pos := toDiagPos(v.Pos())
		if pos.File == "" {
			pos.File = name
		}
		l.errorf(diag.CodeInput, pos, "", formatPath(path), "expected a resource, found "+describe(v),
			"a CUE file holds resources (structs with apiVersion and kind), or lists or structs of them; hide helper values with a _ or # prefix")
	}
}

// isResource reports whether a struct is a resource rather than a
// collection of them.
func isResource(v cue.Value) bool {
	for _, f := range []string{"kind", "apiVersion"} {
		if v.LookupPath(cue.MakePath(cue.Str(f))).Exists() {
			return true
		}
	}
	return false
}

func (l *loader) cueError(name, what string, err error, hint string) {
	for _, ce := range cueErrors(err) {
		pos := toDiagPos(ce.Position())
		if pos.File == "" {
			pos.File = name
		}
		msg := cueMessage(ce)
		if p := ce.Path(); len(p) > 0 {
			msg = strings.Join(p, ".") + ": " + msg
		}
		l.errorf(diag.CodeSyntax, pos, "", "", what+": "+msg, hint)
	}
}

func cueErrors(err error) []cueerrors.Error {
	errs := cueerrors.Errors(err)
	if len(errs) == 0 && err != nil {
		errs = []cueerrors.Error{cueerrors.Promote(err, "")}
	}
	return errs
}

// dataDocument takes one YAML or JSON document.
func (l *loader) dataDocument(name string, e ast.Expr) {
	if isNull(e) {
		return
	}
	before := len(l.res.Diags)
	e = l.clean(name, e, nil, 0)
	v := l.ctx.BuildExpr(e)
	if err := v.Err(); err != nil {
		l.cueError(name, "invalid document", err, "check the document's syntax")
		return
	}
	// Name the resource in what clean found, now that it can be read.
	if kind, err := v.LookupPath(cue.ParsePath("kind")).String(); err == nil && kind != "List" {
		ns, n := l.identity(v)
		id := (&Resource{Kind: kind, Namespace: ns, Name: n}).ID()
		for i := before; i < len(l.res.Diags); i++ {
			l.res.Diags[i].Resource = id
		}
	}
	// A document whose keys clash is not loaded, though it is checked.
	l.tainted = len(l.res.Diags) > before
	l.document(name, v, 0)
	l.tainted = false
}

func isNull(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.NULL
	case *ast.BinaryExpr:
		// An empty file decodes as *null | _.
		u, ok := x.X.(*ast.UnaryExpr)
		return ok && x.Op == token.OR && u.Op == token.MUL && isNull(u.X)
	}
	return false
}

// clean drops fields whose value is null, as the Kubernetes API server
// does, and reports keys that appear twice in one mapping, keeping the
// first.
func (l *loader) clean(name string, e ast.Expr, path []seg, depth int) ast.Expr {
	if depth > maxDepth {
		l.errorf(diag.CodeSyntax, toDiagPos(e.Pos()), "", formatPath(path), "document nested too deeply",
			"keep documents within 100 levels of nesting")
		return &ast.StructLit{}
	}
	switch x := e.(type) {
	case *ast.StructLit:
		seen := map[string]token.Pos{}
		elts := x.Elts[:0:0]
		for _, d := range x.Elts {
			f, ok := d.(*ast.Field)
			if !ok {
				elts = append(elts, d)
				continue
			}
			key, _, err := ast.LabelName(f.Label)
			if err != nil {
				elts = append(elts, d)
				continue
			}
			child := append(path[:len(path):len(path)], keySeg(key))
			if first, dup := seen[key]; dup {
				l.errorf(diag.CodeSyntax, toDiagPos(f.Label.Pos()), "", formatPath(child),
					strconv.Quote(key)+" is set twice in one mapping",
					"remove one of the two; the first is at "+toDiagPos(first).String())
				continue
			}
			seen[key] = f.Label.Pos()
			if isNull(f.Value) {
				continue
			}
			f.Value = l.clean(name, f.Value, child, depth+1)
			elts = append(elts, f)
		}
		x.Elts = elts
	case *ast.ListLit:
		for i, el := range x.Elts {
			x.Elts[i] = l.clean(name, el, append(path[:len(path):len(path)], idxSeg(i)), depth+1)
		}
	}
	return e
}

// cueMessage is an error's message without its path.
func cueMessage(e cueerrors.Error) string {
	format, args := e.Msg()
	return fmt.Sprintf(format, args...)
}
