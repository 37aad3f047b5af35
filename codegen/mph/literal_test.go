package mph

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// evalLiteral reads back the table from the text of Literal. It accepts only
// what Literal should write: a composite literal of integer and string
// literals. Anything else, such as code smuggled in through a key, fails.
func evalLiteral(src, qualifier string) (hosttable.Table, error) {
	var t hosttable.Table
	e, err := parser.ParseExpr(src)
	if err != nil {
		return t, err
	}
	lit, ok := e.(*ast.CompositeLit)
	if !ok {
		return t, fmt.Errorf("not a composite literal: %T", e)
	}
	typ := "Table"
	if qualifier != "" {
		typ = qualifier + ".Table"
	}
	if got := exprString(lit.Type); got != typ {
		return t, fmt.Errorf("type %s, want %s", got, typ)
	}
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			return t, fmt.Errorf("element %T, want key: value", elt)
		}
		name := exprString(kv.Key)
		if name == "Seed" {
			b, ok := kv.Value.(*ast.BasicLit)
			if !ok || b.Kind != token.INT {
				return t, fmt.Errorf("Seed is %T", kv.Value)
			}
			if t.Seed, err = strconv.ParseUint(b.Value, 10, 64); err != nil {
				return t, err
			}
			continue
		}
		list, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			return t, fmt.Errorf("%s is %T", name, kv.Value)
		}
		elems := []string{}
		for _, x := range list.Elts {
			sign := ""
			if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.SUB {
				sign, x = "-", u.X
			}
			b, ok := x.(*ast.BasicLit)
			if !ok {
				return t, fmt.Errorf("%s holds %T", name, x)
			}
			if sign != "" && b.Kind != token.INT {
				return t, fmt.Errorf("%s holds -%s", name, b.Value)
			}
			elems = append(elems, sign+b.Value)
		}
		var errs []error
		ints := func(bits int) []int64 {
			out := []int64{}
			for _, s := range elems {
				v, err := strconv.ParseInt(s, 10, bits)
				errs = append(errs, err)
				out = append(out, v)
			}
			return out
		}
		switch typ := exprString(list.Type); name + " " + typ {
		case "Pilots []uint16":
			t.Pilots = []uint16{}
			for _, v := range ints(17) {
				t.Pilots = append(t.Pilots, uint16(v))
			}
		case "Remap []uint32":
			t.Remap = []uint32{}
			for _, v := range ints(33) {
				t.Remap = append(t.Remap, uint32(v))
			}
		case "Values []int32":
			t.Values = []int32{}
			for _, v := range ints(32) {
				t.Values = append(t.Values, int32(v))
			}
		case "Keys []string":
			t.Keys = []string{}
			for _, s := range elems {
				k, err := strconv.Unquote(s)
				errs = append(errs, err)
				t.Keys = append(t.Keys, k)
			}
		default:
			return t, fmt.Errorf("unexpected field %s %s", name, typ)
		}
		for _, err := range errs {
			if err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.ArrayType:
		if e.Len == nil {
			return "[]" + exprString(e.Elt)
		}
	}
	return fmt.Sprintf("<%T>", e)
}

// checkLiteral checks that Literal(tab) is valid, gofmt-able Go that holds
// exactly tab.
func checkLiteral(t *testing.T, tab hosttable.Table, qualifier string) string {
	t.Helper()
	src := Literal(tab, qualifier)
	got, err := evalLiteral(src, qualifier)
	if err != nil {
		t.Fatalf("Literal output does not read back: %v\n%s", err, src)
	}
	if !reflect.DeepEqual(got, tab) {
		t.Fatalf("Literal output reads back as %+v, want %+v\n%s", got, tab, src)
	}
	file := "package p\n\nvar t = " + src + "\n"
	if _, err := format.Source([]byte(file)); err != nil {
		t.Fatalf("gofmt rejects the literal: %v\n%s", err, file)
	}
	return src
}

func TestLiteralReadsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1, 2, 17, 100, 2000} {
		keys := randomKeys(r, n)
		values := make([]int32, n)
		for i := range values {
			values[i] = int32(r.Uint32()) // negative ones too
		}
		tab, err := Build(keys, values)
		if err != nil {
			t.Fatal(err)
		}
		checkLiteral(t, tab, "hosttable")
		checkLiteral(t, tab, "")
	}
}

func TestLiteralEmpty(t *testing.T) {
	if got := checkLiteral(t, hosttable.Table{}, "hosttable"); got != "hosttable.Table{}" {
		t.Errorf("Literal(empty) = %q", got)
	}
}

func TestLiteralQuotesHostileKeys(t *testing.T) {
	hostile := []string{
		`a"b`,
		`back\slash`,
		"new\nline",
		"*/ }}; func init() { panic(1) } /*",
		"// comment",
		"`raw`",
		"\x00\xff\xfe",  // not UTF-8
		"\u202etxt.exe", // right-to-left override
		"tab\there",
		"\r\n",
	}
	values := make([]int32, len(hostile))
	for i := range values {
		values[i] = int32(i)
	}
	tab, err := Build(hostile, values)
	if err != nil {
		t.Fatal(err)
	}
	src := checkLiteral(t, tab, "hosttable")
	// evalLiteral proved that the text holds nothing but the table; each
	// key also stays on its own line, its comment after it.
	keyLines := 0
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, "\t\t\"") {
			keyLines++
			if !strings.Contains(line, "\", // slot ") {
				t.Errorf("key line without its comment: %q", line)
			}
		}
	}
	if keyLines != len(hostile) {
		t.Errorf("%d key lines, want %d\n%s", keyLines, len(hostile), src)
	}
}

func TestLiteralLayout(t *testing.T) {
	tab, err := Build([]string{"webapp.istioinaction.io"}, []int32{3})
	if err != nil {
		t.Fatal(err)
	}
	want := `hosttable.Table{
	Seed: 0,
	Pilots: []uint16{
		0,
	},
	Keys: []string{
		"webapp.istioinaction.io", // slot 0 -> 3
	},
	Values: []int32{
		3,
	},
}`
	if got := Literal(tab, "hosttable"); got != want {
		t.Errorf("Literal =\n%s\nwant\n%s", got, want)
	}
}
