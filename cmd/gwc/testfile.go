package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// The route test file of `gwc test`: YAML documents of gwc's own kind
// RouteTests, each a list of requests and what must happen to them.
// docs/testing-routes.md is its reference.

const (
	testsAPIVersion = "gwc.dev/v1alpha1"
	testsKind       = "RouteTests"
)

// testDoc is one RouteTests document. Its API group is not Istio's, so
// `gwc build` and `gwc vet` skip it with a note if it is ever among their
// inputs.
type testDoc struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Tests      []testCase `yaml:"tests"`
}

// testCase is one request and its expectations.
type testCase struct {
	Name    string      `yaml:"name"`
	Request testRequest `yaml:"request"`
	Expect  testExpect  `yaml:"expect"`

	pos diag.Pos // of the case, for the report
}

// testRequest is a request as a listener receives it.
type testRequest struct {
	Method    string            `yaml:"method"`    // GET when empty
	Scheme    string            `yaml:"scheme"`    // http (default), https, tls or tcp
	Authority string            `yaml:"authority"` // the Host header, with a port if not the scheme's default
	Path      string            `yaml:"path"`      // may carry a ?query
	Query     map[string]string `yaml:"query"`
	Headers   map[string]string `yaml:"headers"`
	// SourceAddress is the client's address; 127.0.0.1 when empty.
	SourceAddress string `yaml:"sourceAddress"`
	// Port is the listener port; the authority's port or the scheme's
	// default when 0.
	Port int `yaml:"port"`
	// SNI is the TLS server name; the authority's host when empty.
	SNI string `yaml:"sni"`
}

// testExpect lists what must happen; fields left out are not checked.
type testExpect struct {
	// Rule is the start of the ID of the rule that must take the request,
	// e.g. "vs.yaml:14" or "vs.yaml:14:7 ns/name http[0]".
	Rule string `yaml:"rule"`
	// Cluster is the one destination cluster, by its Envoy name.
	Cluster string `yaml:"cluster"`
	// Destination is the one destination by host, subset and port.
	Destination *testDestination `yaml:"destination"`
	// Destinations is the whole weighted set, in any order.
	Destinations []testDestination `yaml:"destinations"`
	Path         string            `yaml:"path"`      // sent upstream, after any rewrite
	Authority    string            `yaml:"authority"` // sent upstream, after any rewrite
	// Status is the gateway's own answer: a redirect, a direct response,
	// 404 for no host or route, an httpsRedirect.
	Status   int    `yaml:"status"`
	Location string `yaml:"location"`
	// RequestHeaders and ResponseHeaders are the header operations in
	// effect (the route's and its destination's).
	RequestHeaders  *testHeaderOps `yaml:"requestHeaders"`
	ResponseHeaders *testHeaderOps `yaml:"responseHeaders"`
	// Timeout is the route timeout, "0s" for none.
	Timeout string     `yaml:"timeout"`
	Retries *testRetry `yaml:"retries"`
	Fault   *testFault `yaml:"fault"`
	Mirrors []string   `yaml:"mirrors"` // mirror clusters, in any order
}

// testDestination names a cluster, by name or by parts; Weight is checked
// in a weighted set.
type testDestination struct {
	Cluster string `yaml:"cluster"`
	Host    string `yaml:"host"`
	Subset  string `yaml:"subset"`
	Port    int    `yaml:"port"`
	Weight  *int   `yaml:"weight"`
}

type testHeaderOps struct {
	Added   map[string]string `yaml:"added"`   // set or appended
	Removed []string          `yaml:"removed"` // removed
}

type testRetry struct {
	Attempts      *int   `yaml:"attempts"`
	PerTryTimeout string `yaml:"perTryTimeout"`
	RetryOn       string `yaml:"retryOn"` // comma-separated, as Istio writes it
}

type testFault struct {
	AbortStatus int    `yaml:"abortStatus"`
	Delay       string `yaml:"delay"`
}

// readTestFiles reads every test file; the diagnostics say what is wrong
// where.
func readTestFiles(files []string) ([]testCase, diag.List) {
	var cases []testCase
	var diags diag.List
	for _, f := range files {
		c, ds := readTestFile(f)
		cases = append(cases, c...)
		diags = append(diags, ds...)
	}
	return cases, diags
}

func readTestFile(file string) ([]testCase, diag.List) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, diag.List{{Pos: diag.Pos{File: file}, Severity: diag.Error, Code: diag.CodeInput,
			Message: "cannot read the test file: " + err.Error(), Hint: "name a RouteTests YAML file with --tests"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var cases []testCase
	var diags diag.List
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return cases, append(diags, syntaxError(file, err))
		}
		var doc testDoc
		d := &strictDecoder{file: file}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		d.decode(root, reflect.ValueOf(&doc).Elem())
		if len(d.diags) == 0 {
			if doc.APIVersion != testsAPIVersion || doc.Kind != testsKind {
				d.errorf(root, "not a route test file: want apiVersion %s and kind %s", "start the document with apiVersion: "+testsAPIVersion+" and kind: "+testsKind, testsAPIVersion, testsKind)
			}
			d.checkCases(doc.Tests)
		}
		diags = append(diags, d.diags...)
		cases = append(cases, doc.Tests...)
	}
	if len(cases) == 0 && len(diags) == 0 {
		diags = append(diags, diag.Diagnostic{Pos: diag.Pos{File: file}, Severity: diag.Error, Code: diag.CodeInput,
			Message: "no tests", Hint: "list requests under tests:"})
	}
	return cases, diags
}

// syntaxError positions a YAML parse error; the parser says "line N".
func syntaxError(file string, err error) diag.Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := diag.Pos{File: file}
	var line int
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		pos.Line, pos.Col = line, 1
		msg = strings.TrimSpace(msg[strings.IndexByte(msg, ':')+1:])
	}
	return diag.Diagnostic{Pos: pos, Severity: diag.Error, Code: diag.CodeSyntax, Message: "invalid YAML: " + msg}
}

// strictDecoder fills a struct from a YAML node, reporting unknown fields
// and wrong values at their own line and column, which yaml's
// KnownFields option would give only as a line.
type strictDecoder struct {
	file  string
	diags diag.List
}

func (d *strictDecoder) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *strictDecoder) errorf(n *yaml.Node, format, hint string, args ...any) {
	d.diags = append(d.diags, diag.Diagnostic{Pos: d.pos(n), Severity: diag.Error, Code: diag.CodeInvalidValue,
		Message: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *strictDecoder) decode(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Tag == "!!null" {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		d.decode(n, v.Elem())
		return
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, "expected a mapping, found %s", "write the fields as name: value lines", describeNode(n))
			return
		}
		if c, ok := v.Addr().Interface().(*testCase); ok {
			c.pos = d.pos(n)
		}
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			fi, ok := fields[k.Value]
			if !ok {
				d.diags = append(d.diags, diag.Diagnostic{Pos: d.pos(k), Severity: diag.Error, Code: diag.CodeUnknownField,
					Message: fmt.Sprintf("unknown field %q", k.Value), Hint: "known here: " + strings.Join(fieldNames(v.Type()), ", ")})
				continue
			}
			d.decode(val, v.Field(fi))
		}
		return
	case reflect.Slice:
		if n.Tag == "!!null" {
			return
		}
		if v.Type().Elem().Kind() == reflect.Struct {
			if n.Kind != yaml.SequenceNode {
				d.errorf(n, "expected a list, found %s", "write one - item per line", describeNode(n))
				return
			}
			s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
			for i, e := range n.Content {
				d.decode(e, s.Index(i))
			}
			v.Set(s)
			return
		}
	}
	// Scalars, maps of strings and lists of strings: yaml decodes them,
	// and a wrong value is reported at the node.
	if err := n.Decode(v.Addr().Interface()); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		d.errorf(n, "wrong value: %s", "see docs/testing-routes.md for each field's type", msg)
	}
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return fmt.Sprintf("%q", n.Value)
}

// yamlFields maps a struct's YAML names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if t.Field(i).IsExported() && name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// checkCases reports malformed requests: what decoding alone cannot see.
func (d *strictDecoder) checkCases(cases []testCase) {
	for i := range cases {
		c := &cases[i]
		n := &yaml.Node{Line: c.pos.Line, Column: c.pos.Col}
		r := &c.Request
		switch r.Scheme {
		case "", "http", "https", "tls", "tcp":
		default:
			d.errorf(n, "test %q: unknown scheme %q", "use http, https, tls (passthrough) or tcp", c.Name, r.Scheme)
		}
		if r.Authority == "" && r.Scheme != "tcp" && r.Scheme != "tls" {
			d.errorf(n, "test %q: the request has no authority", "set request.authority to the Host, e.g. shop.example.com", c.Name)
		}
		if r.Path != "" && r.Path[0] != '/' {
			d.errorf(n, "test %q: path %q does not start with /", "write the path as /a/b?query", c.Name, r.Path)
		}
		if strings.ContainsAny(r.Method, " \t\r\n") {
			d.errorf(n, "test %q: method %q has white space", "write one method such as GET", c.Name, r.Method)
		}
		if r.Scheme == "tcp" && r.Port == 0 {
			d.errorf(n, "test %q: a tcp request needs a port", "set request.port to the listener's port", c.Name)
		}
		if r.Port < 0 || r.Port > 65535 {
			d.errorf(n, "test %q: port %d out of range", "use a port 1-65535", c.Name, r.Port)
		}
	}
}
