package diag

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Source returns the text of an input file, or nil when it is unknown;
// Render uses it for excerpts.
type Source func(file string) []byte

// Render writes each diagnostic as its header line, then the source line
// it points at with a caret under the offending value, then its hint:
//
//	vs.yaml:7:5: error IST0101: VirtualService shop/web: spec.gateways[0]: gateway "nope" not found
//	    7 |   - nope
//	      |     ^~~~
//	      = hint: known gateways: shop/gw
//
// Diagnostics without a line, or whose file src cannot give, have no
// excerpt.
func (l List) Render(w io.Writer, src Source) {
	files := map[string]*lines{}
	for _, d := range l {
		var f *lines
		if d.Pos.Line > 0 && src != nil {
			if f = files[d.Pos.File]; f == nil {
				f = newLines(src(d.Pos.File))
				files[d.Pos.File] = f
			}
		}
		d.render(w, f)
	}
}

// lines indexes the starts of the lines of a file, so that a thousand
// diagnostics in a megabyte file do not scan it a thousand times.
type lines struct {
	text   []byte
	starts []int
}

func newLines(text []byte) *lines {
	if text == nil {
		return nil
	}
	f := &lines{text: text, starts: []int{0}}
	for i, c := range text {
		if c == '\n' {
			f.starts = append(f.starts, i+1)
		}
	}
	return f
}

// line returns line n (1-based), without its line ending.
func (f *lines) line(n int) (string, bool) {
	if f == nil || n < 1 || n > len(f.starts) {
		return "", false
	}
	text := f.text[f.starts[n-1]:]
	if j := bytes.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return strings.TrimRight(string(text), "\r"), true
}

func (d Diagnostic) render(w io.Writer, f *lines) {
	fmt.Fprintln(w, d.header())
	gutter := "      "
	if d.Pos.Line > 0 {
		if line, ok := f.line(d.Pos.Line); ok {
			num := fmt.Sprintf("%5d", d.Pos.Line)
			gutter = strings.Repeat(" ", len(num)+1)
			fmt.Fprintf(w, "%s | %s\n", num, printable(line))
			fmt.Fprintf(w, "%s| %s\n", gutter, caret(line, d.Pos.Col))
		}
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "%s= hint: %s\n", gutter, d.Hint)
	}
}

// maxExcerpt bounds the source line shown, so that a megabyte-long line
// of minified JSON does not flood the terminal.
const maxExcerpt = 200

// printable makes a source line safe to print: invalid UTF-8 and control
// characters other than tabs become '?'; long lines are cut.
func printable(line string) string {
	var b strings.Builder
	for i, r := range line {
		if i >= maxExcerpt {
			b.WriteString(" …")
			break
		}
		switch {
		case r == utf8.RuneError, r != '\t' && r < ' ', r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// caret returns the marker line for a value starting at byte column col:
// blanks (tabs where the source has tabs) up to it, '^' under its first
// character and '~' under the rest of the token.
func caret(line string, col int) string {
	if col < 1 {
		col = 1
	}
	if col > len(line)+1 {
		col = len(line) + 1
	}
	if col > maxExcerpt {
		return ""
	}
	var b strings.Builder
	for _, c := range []byte(line[:col-1]) {
		if c == '\t' {
			b.WriteByte('\t')
		} else if c < 0x80 || c >= 0xc0 {
			b.WriteByte(' ') // one blank per character, not per byte
		}
	}
	b.WriteByte('^')
	n := utf8.RuneCountInString(token(line[col-1:]))
	if n > 1 {
		b.WriteString(strings.Repeat("~", min(n-1, maxExcerpt)))
	}
	return b.String()
}

// token returns the value that starts s: a quoted string, or everything
// up to a separator of YAML flow style, JSON or CUE.
func token(s string) string {
	if s == "" {
		return ""
	}
	if s[0] == '{' || s[0] == '[' {
		return s[:1] // a flow collection: mark where it opens
	}
	if q := s[0]; q == '"' || q == '\'' {
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' && q == '"' {
				i++
				continue
			}
			if s[i] == q {
				return s[:i+1]
			}
		}
		return s
	}
	if end := strings.IndexAny(s, ",]}#"); end >= 0 {
		s = s[:end]
	}
	// A mapping key ends at its colon.
	if end := strings.Index(s, ": "); end >= 0 {
		s = s[:end]
	}
	s = strings.TrimRight(s, " \t")
	return strings.TrimSuffix(s, ":")
}
