package runtime

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Match regexes are compiled on first use, not by Prepare. Compiling was
// two fifths of the start-up time with 10,000 hosts, and a compiled regex
// holds about 3 KiB for the life of the process, whether or not a request
// ever reaches its route. Prepare still parses every distinct regex
// (regexp/syntax.Parse, the step where all of regexp.Compile's errors
// arise), so a hand-written configuration with a bad regex is reported at
// start-up as before; the parse also yields the regex's literal prefix for
// the route index.
//
// Prepare does not link a match to its cell either: the configuration is a
// Go literal in the binary's data segment, and a write to a page of it
// copies the page (see setIfChanged); with a regex route on every host
// that was every page of the matches, a quarter of what start-up had left
// once the proxies are built lazily. Cells live in a registry by source,
// process-wide (a source means the same regex in every configuration), and
// a match links its cell on its first use.

// regexRegistry holds a cell per regex source Prepare has accepted.
var regexRegistry struct {
	sync.Mutex
	cells map[string]*lazyRegex
}

// registeredRegex returns the cell of src, nil if no Prepare accepted it.
func registeredRegex(src string) *lazyRegex {
	regexRegistry.Lock()
	defer regexRegistry.Unlock()
	return regexRegistry.cells[src]
}

// cell returns the regex cell of sm (a MatchRegex), linking it on the first
// call; nil when sm was not prepared.
func (sm *StringMatch) cell() *lazyRegex {
	if p := atomic.LoadPointer(&sm.lazy); p != nil {
		return (*lazyRegex)(p)
	}
	l := registeredRegex(sm.Value)
	if l != nil {
		atomic.StorePointer(&sm.lazy, unsafe.Pointer(l))
	}
	return l
}

// lazyRegex is one regex, compiled by the first request that needs it and
// shared by every match with the same source.
type lazyRegex struct {
	// src is the match's source; expr, the expression compiled: src
	// anchored for a full match.
	src, expr string
	// prefix is a literal every string the anchored expr matches begins
	// with ("" when the parse shows none).
	prefix string
	once   sync.Once
	re     *regexp.Regexp
}

// get returns the compiled regex, compiling it on the first call; nil only
// if compiling fails, which the parse in anchored rules out. Safe for
// concurrent use; later calls allocate nothing.
func (l *lazyRegex) get() *regexp.Regexp {
	l.once.Do(func() {
		l.re, _ = regexp.Compile(l.expr)
	})
	return l.re
}

// regexCache remembers the sources one Prepare has registered, so the
// 10,000 hosts of one generated configuration repeating one regex take
// the registry's lock once. A nil cache remembers nothing.
type regexCache map[string]*lazyRegex

// anchored registers the full match of the RE2 source src, as Envoy's
// safe_regex, and returns its cell, or the parse error regexp.Compile
// would give.
func (c regexCache) anchored(src string) (*lazyRegex, error) {
	if l := c[src]; l != nil {
		return l, nil
	}
	regexRegistry.Lock()
	defer regexRegistry.Unlock()
	l := regexRegistry.cells[src]
	if l == nil {
		expr := `^(?:` + src + `)$`
		re, err := syntax.Parse(expr, syntax.Perl)
		if err != nil {
			return nil, fmt.Errorf("compiling regex %q: %w", src, err)
		}
		l = &lazyRegex{src: src, expr: expr}
		l.prefix, _ = literalPrefix(re)
		if regexRegistry.cells == nil {
			regexRegistry.cells = map[string]*lazyRegex{}
		}
		regexRegistry.cells[src] = l
	}
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
