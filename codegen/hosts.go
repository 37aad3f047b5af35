package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"reflect"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gwc-dev/gwc/runtime"
)

// Formatting the whole configuration with go/format took most of the
// generate step for large configurations: the printer measures every
// element of a composite literal by printing it, at every level of
// nesting, so its work grows with the depth of the literal as well as its
// size, and it runs on one core. The virtual hosts, nearly all of the
// source, are therefore formatted each on its own, in parallel, and put
// into the formatted rest of the file, which holds a placeholder for
// each.
//
// This gives the bytes go/format gives for the whole file (a test checks
// it on every configuration of gwc's tests): a virtual host is an element
// of a composite literal that spans several lines, and go/format lays out
// such an element without regard to what surrounds it but its
// indentation. Every element starts a new line, no alignment runs across
// the lines between elements, which hold nothing but a brace or a
// comment, and the elements of a composite literal are printed at the same
// expression depth wherever the literal stands. The placeholder spans
// several lines too, so the list around it is laid out as it would be
// around the virtual host.

// hostSlots collects the virtual hosts the printer left a placeholder
// for, and the imports their source uses.
type hostSlots struct {
	cfg     *runtime.Config
	notes   *notes
	hosts   []virtualHostData
	imports map[string]bool
}

// virtualHostData is one virtual host and its index in its listener.
type virtualHostData struct {
	Index int
	Host  *runtime.VirtualHost
}

// placeholderKey starts the one line of a placeholder. Configuration
// strings reach the source quoted and comments start with //, so no line
// of a configuration can look like it.
const placeholderKey = "gwcVirtualHostPlaceholder"

// placeholder records a virtual host and stands in for it: the lines the
// printer writes for a slice element, note included.
func (h *hostSlots) placeholder(i int, vh *runtime.VirtualHost) string {
	n := len(h.hosts)
	h.hosts = append(h.hosts, virtualHostData{Index: i, Host: vh})
	return "{\n" + placeholderKey + strconv.Itoa(n) + ": 0,\n},\n"
}

// A virtual host is formatted as the only element of this literal.
const (
	hostHead = "package p\n\nvar _ = []T{\n"
	hostTail = "}\n"
)

// format prints and formats one virtual host. The result is its lines at
// one level of indentation, and the imports they use.
func (h *hostSlots) format(d virtualHostData) ([]byte, map[string]bool, error) {
	p := newPrinter(h.cfg, h.notes)
	p.write(hostHead)
	p.element(reflect.ValueOf(d.Host).Elem(), d.Index)
	p.write(hostTail)
	if p.err != nil {
		return nil, nil, fmt.Errorf("virtual host %d: %w", d.Index, p.err)
	}
	src, err := format.Source(p.b)
	if err != nil {
		return nil, nil, fmt.Errorf("virtual host %d: %w\n%s", d.Index, err, numbered(p.b))
	}
	body, ok := bytes.CutPrefix(src, []byte(hostHead))
	if ok {
		body, ok = bytes.CutSuffix(body, []byte(hostTail))
	}
	if !ok {
		return nil, nil, fmt.Errorf("virtual host %d: unexpected layout:\n%s", d.Index, src)
	}
	return body, p.imports, nil
}

// formatAll prints and formats every recorded virtual host, in parallel,
// and adds the imports they use to h.imports.
func (h *hostSlots) formatAll() ([][]byte, error) {
	hosts := h.hosts
	bodies := make([][]byte, len(hosts))
	imports := make([]map[string]bool, len(hosts))
	errs := make([]error, len(hosts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(goruntime.GOMAXPROCS(0), len(hosts)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hosts) {
					return
				}
				bodies[i], imports[i], errs[i] = h.format(hosts[i])
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		for path := range imports[i] {
			h.imports[path] = true
		}
	}
	return bodies, nil
}

// splice puts each formatted virtual host in place of its placeholder in
// the formatted src.
func (h *hostSlots) splice(src []byte, bodies [][]byte) ([]byte, error) {
	hosts := h.hosts
	if len(hosts) == 0 {
		return src, nil
	}
	size := len(src)
	for _, b := range bodies {
		size += 2 * len(b)
	}

	// A formatted placeholder is three lines: INDENT "{", INDENT TAB key
	// ": 0,", INDENT "},".
	out := make([]byte, 0, size)
	found := 0
	for len(src) > 0 {
		line, rest, _ := bytes.Cut(src, []byte("\n"))
		indent := len(line) - len(bytes.TrimLeft(line, "\t"))
		if string(line[indent:]) != "{" {
			out = append(out, line...)
			out = append(out, '\n')
			src = rest
			continue
		}
		key, after, _ := bytes.Cut(rest, []byte("\n"))
		closing, after, _ := bytes.Cut(after, []byte("\n"))
		tabs := line[:indent]
		want := string(tabs) + "\t" + placeholderKey + strconv.Itoa(found) + ": 0,"
		if indent == 0 || found >= len(hosts) || string(key) != want || string(closing) != string(tabs)+"}," {
			out = append(out, line...)
			out = append(out, '\n')
			src = rest
			continue
		}
		// The body is at one tab; here it is at indent tabs. Empty lines
		// stay empty, as go/format leaves them.
		for bl := range bytes.Lines(bodies[found]) {
			if len(bl) > 1 {
				out = append(out, tabs[:indent-1]...)
			}
			out = append(out, bl...)
		}
		found++
		src = after
	}
	if found != len(hosts) {
		return nil, fmt.Errorf("placed %d of %d virtual hosts", found, len(hosts))
	}
	return out, nil
}
