package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"text/template"

	"github.com/gwc-dev/gwc/compiler/ir"
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

// hostSlots collects the virtual hosts the template placed while
// rendering a file.
type hostSlots struct {
	tmpl  *template.Template
	hosts []virtualHostData
}

// virtualHostData is what the "virtualHost" template renders.
type virtualHostData struct {
	Index int
	Host  ir.VirtualHost
}

// placeholderKey starts the one line of a placeholder. Configuration
// strings reach the source quoted and comments start with //, so no line
// of a configuration can look like it.
const placeholderKey = "gwcVirtualHostPlaceholder"

// placeholder records a virtual host and stands in for it.
func (h *hostSlots) placeholder(i int, vh ir.VirtualHost) string {
	n := len(h.hosts)
	h.hosts = append(h.hosts, virtualHostData{Index: i, Host: vh})
	return "{\n" + placeholderKey + strconv.Itoa(n) + ": 0,\n},"
}

// inline renders a virtual host in place, to format the file as a whole.
func (h *hostSlots) inline(i int, vh ir.VirtualHost) (string, error) {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, "virtualHost", virtualHostData{Index: i, Host: vh}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// A virtual host is formatted as the only element of this literal.
const (
	hostHead = "package p\n\nvar _ = []T{\n"
	hostTail = "}\n"
)

// format renders and formats one virtual host. The result is its lines
// at one level of indentation.
func (h *hostSlots) format(d virtualHostData) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(hostHead)
	if err := h.tmpl.ExecuteTemplate(&buf, "virtualHost", d); err != nil {
		return nil, fmt.Errorf("rendering virtual host %d: %w", d.Index, err)
	}
	buf.WriteString("\n" + hostTail)
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("virtual host %d: %w\n%s", d.Index, err, numbered(buf.Bytes()))
	}
	body, ok := bytes.CutPrefix(src, []byte(hostHead))
	if ok {
		body, ok = bytes.CutSuffix(body, []byte(hostTail))
	}
	if !ok {
		return nil, fmt.Errorf("virtual host %d: unexpected layout:\n%s", d.Index, src)
	}
	return body, nil
}

// splice formats the virtual hosts recorded while rendering src and puts
// each in place of its placeholder in the formatted src.
func (h *hostSlots) splice(src []byte) ([]byte, error) {
	hosts := h.hosts
	h.hosts = nil
	if len(hosts) == 0 {
		return src, nil
	}
	bodies := make([][]byte, len(hosts))
	errs := make([]error, len(hosts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(hosts)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hosts) {
					return
				}
				bodies[i], errs[i] = h.format(hosts[i])
			}
		})
	}
	wg.Wait()
	size := len(src)
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		size += 2 * len(bodies[i])
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
