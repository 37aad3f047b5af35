package mph

import (
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// numbersPerLine is how many pilots, remap entries or values share a line.
const numbersPerLine = 16

// Literal returns the Go expression for t, a composite literal of the
// qualifier's Table type ("hosttable.Table{...}"; a bare "Table{...}" when
// qualifier is empty). qualifier must be a Go identifier. Keys are written
// one per line with their slot and value, and every key goes through
// strconv.Quote, so no key can change the meaning of the generated code.
func Literal(t hosttable.Table, qualifier string) string {
	var b strings.Builder
	if qualifier != "" {
		b.WriteString(qualifier)
		b.WriteByte('.')
	}
	b.WriteString("Table{")
	if len(t.Keys) == 0 && len(t.Pilots) == 0 && len(t.Remap) == 0 && len(t.Values) == 0 && t.Seed == 0 {
		b.WriteByte('}')
		return b.String()
	}
	b.WriteString("\n\tSeed: ")
	b.WriteString(strconv.FormatUint(t.Seed, 10))
	b.WriteString(",\n")
	numbers(&b, "Pilots", "uint16", t.Pilots)
	numbers(&b, "Remap", "uint32", t.Remap)
	if t.Keys != nil {
		b.WriteString("\tKeys: []string{\n")
		for i, k := range t.Keys {
			b.WriteString("\t\t")
			b.WriteString(strconv.Quote(k))
			b.WriteString(", // slot ")
			b.WriteString(strconv.Itoa(i))
			if i < len(t.Values) {
				b.WriteString(" -> ")
				b.WriteString(strconv.FormatInt(int64(t.Values[i]), 10))
			}
			b.WriteByte('\n')
		}
		b.WriteString("\t},\n")
	}
	numbers(&b, "Values", "int32", t.Values)
	b.WriteByte('}')
	return b.String()
}

// numbers writes a field holding a slice of integers, numbersPerLine a line;
// a nil slice is left out.
func numbers[T uint16 | uint32 | int32](b *strings.Builder, field, typ string, s []T) {
	if s == nil {
		return
	}
	b.WriteString("\t" + field + ": []" + typ + "{")
	for i, v := range s {
		if i%numbersPerLine == 0 {
			b.WriteString("\n\t\t")
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(int64(v), 10))
		b.WriteByte(',')
	}
	b.WriteString("\n\t},\n")
}
