package codegen

import (
	"fmt"
	"strconv"
	"strings"
)

var tlsModes = map[string]string{
	"SIMPLE":          "gwcrt.TLSSimple",
	"MUTUAL":          "gwcrt.TLSMutual",
	"OPTIONAL_MUTUAL": "gwcrt.TLSOptionalMutual",
}

// tlsModeLiteral names the runtime constant of a TLS mode; an unknown mode
// renders as 0, which the runtime's Prepare rejects.
func tlsModeLiteral(mode string) string {
	if c, ok := tlsModes[mode]; ok {
		return c
	}
	return "0"
}

func stringsLiteral(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func intsLiteral(ns []int) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = strconv.Itoa(n)
	}
	return "[]int{" + strings.Join(q, ", ") + "}"
}

func uint16sLiteral(ns []uint16) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = fmt.Sprintf("%#04x", n)
	}
	return "[]uint16{" + strings.Join(q, ", ") + "}"
}
