// Package diag provides positioned diagnostics: the errors, warnings and
// notes every stage of the compiler reports, each with a stable code,
// printed as "file:line:col: severity code: message" on one line (String),
// or with the source line, a caret under the offending value and a hint
// (Render), or as JSON and SARIF for tools (json.go, sarif.go).
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity orders diagnostics by how much they matter.
type Severity int

const (
	Error Severity = iota
	Warning
	Note
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "note"
	}
}

// Pos is a position in an input file. File is a relative, slash-separated
// path; Line and Col are 1-based. The zero Pos means "no position".
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "-"
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Diagnostic is one finding about the input.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	// Code is the stable identifier of the kind of problem: an istioctl
	// analyze code (IST0101) where Istio has one, else a gwc code
	// (GWC0103); codes.go lists them. Empty for uncategorised findings.
	Code string
	// Resource names the resource, e.g. "VirtualService istioinaction/webapp".
	Resource string
	// Field is the field path inside the resource, e.g. "spec.http[0].route[0].destination.host".
	Field   string
	Message string
	// Hint says what would fix it, when that is known.
	Hint string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.header())
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// header is the first line of a diagnostic: position, severity, code,
// resource, field and message, without the hint.
func (d Diagnostic) header() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	if d.Code != "" {
		b.WriteString(" ")
		b.WriteString(d.Code)
	}
	b.WriteString(": ")
	if d.Resource != "" {
		b.WriteString(d.Resource)
		b.WriteString(": ")
	}
	if d.Field != "" {
		b.WriteString(d.Field)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// List is a set of diagnostics.
type List []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Count returns the number of diagnostics of severity s.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// Sort orders the list by file, line, column, then message, so output is
// deterministic whatever order the stages found things in.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
