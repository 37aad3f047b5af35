package mph

import (
	"fmt"
	"strings"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// BuildRouter returns the router of a listener's domains (lower-case,
// distinct; "*.suffix" for a wildcard, "*" for the catch-all): Lookup of a
// Host gives the index of its domain in domains, or -1.
func BuildRouter(domains []string) (hosttable.Router, error) {
	r := hosttable.Router{CatchAll: -1}
	var exact, wild []string
	var exactVals, wildVals []int32
	for i, d := range domains {
		switch {
		case d == "*":
			r.CatchAll = int32(i)
		case strings.HasPrefix(d, "*."):
			wild = append(wild, d[2:])
			wildVals = append(wildVals, int32(i))
		default:
			exact = append(exact, d)
			exactVals = append(exactVals, int32(i))
		}
	}
	var err error
	if r.Exact, err = Build(exact, exactVals); err != nil {
		return r, fmt.Errorf("building the host table: %w", err)
	}
	if r.Wildcard, err = Build(wild, wildVals); err != nil {
		return r, fmt.Errorf("building the wildcard table: %w", err)
	}
	r.SuffixLengths = hosttable.SuffixLengthsOf(wild)
	return r, nil
}

// RouterLiteral returns the Go expression for r, a composite literal of
// hosttable.Router, its tables written by Literal.
func RouterLiteral(r hosttable.Router) string {
	var b strings.Builder
	b.WriteString("hosttable.Router{\n")
	b.WriteString("\tExact: " + Literal(r.Exact, "hosttable") + ",\n")
	b.WriteString("\tWildcard: " + Literal(r.Wildcard, "hosttable") + ",\n")
	fmt.Fprintf(&b, "\tCatchAll: %d,\n", r.CatchAll)
	if r.SuffixLengths != [4]uint64{} {
		fmt.Fprintf(&b, "\tSuffixLengths: [4]uint64{%#x, %#x, %#x, %#x},\n", r.SuffixLengths[0], r.SuffixLengths[1], r.SuffixLengths[2], r.SuffixLengths[3])
	}
	b.WriteString("}")
	return b.String()
}
