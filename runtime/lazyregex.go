package runtime

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync"
	"unicode/utf8"
)

// Match regexes are compiled on first use, not by Prepare. Compiling was
// two fifths of the start-up time with 10,000 hosts, and a compiled regex
// holds about 3 KiB for the life of the process, whether or not a request
// ever reaches its route. Prepare still parses every distinct regex
// (regexp/syntax.Parse, the step where all of regexp.Compile's errors
// arise), so a hand-written configuration with a bad regex is reported at
// start-up as before; the parse also yields the regex's literal prefix for
// the route index.

// lazyRegex is one regex, compiled by the first request that needs it and
// shared by every match with the same source.
type lazyRegex struct {
	// expr is the expression compiled: anchored for a full match.
	expr string
	// prefix is a literal every string the anchored expr matches begins
	// with ("" when the parse shows none).
	prefix string
	once   sync.Once
	re     *regexp.Regexp
}

// get returns the compiled regex, compiling it on the first call; nil only
// if compiling fails, which the parse in newLazyRegex rules out. Safe for
// concurrent use; later calls allocate nothing.
func (l *lazyRegex) get() *regexp.Regexp {
	l.once.Do(func() {
		l.re, _ = regexp.Compile(l.expr)
	})
	return l.re
}

// regexCache shares one lazyRegex per distinct match source over a
// Prepare: the 10,000 hosts of one generated configuration often repeat
// one regex. A nil cache shares nothing.
type regexCache map[string]*lazyRegex

// anchored returns the cell for the full match of the RE2 source src, as
// Envoy's safe_regex, or the parse error regexp.Compile would give.
func (c regexCache) anchored(src string) (*lazyRegex, error) {
	if l := c[src]; l != nil {
		return l, nil
	}
	expr := `^(?:` + src + `)$`
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("compiling regex %q: %w", src, err)
	}
	l := &lazyRegex{expr: expr}
	l.prefix, _ = literalPrefix(re)
	if c != nil {
		c[src] = l
	}
	return l, nil
}

// literalPrefix returns a string every match of re (matched from the start
// of the input) begins with, and whether re matches exactly that string.
// It looks only at leading literals, captures and concatenations, and so
// may answer less than the longest such prefix, never more. Case-folded
// literals and U+FFFD (which also stands for invalid UTF-8 in the input)
// end the prefix.
func literalPrefix(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText:
		// Zero-width: a match consumes nothing here, and at the start of
		// the input ^ always holds.
		return "", true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		var b []byte
		for _, r := range re.Rune {
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return string(b), false
			}
			b = utf8.AppendRune(b, r)
		}
		return string(b), true
	case syntax.OpCapture:
		return literalPrefix(re.Sub[0])
	case syntax.OpConcat:
		var p string
		for _, sub := range re.Sub {
			sp, complete := literalPrefix(sub)
			p += sp
			if !complete {
				return p, false
			}
		}
		return p, true
	}
	return "", false
}
