package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

// gwc test: run the requests of route test files through the compiled
// tables, with the runtime's own host lookup and matchers (outcome.go),
// and check what happens against what the files expect.

const testSynopsis = "[--format text|json|junit] " + inputSynopsis + " PATH... --tests FILE..."

func runTest(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("test", testSynopsis)
	format := fs.String("format", "text", "output `FORMAT`: text, json or junit (JUnit XML)")
	input := addInputFlags(fs)
	var tests pathList
	fs.Var(&tests, "tests", "a route test `FILE` (repeatable; the arguments after it are test files too, up to the next flag)")
	args, code, ok := parseFlags(fs, testsAfterFlag(args), stderr)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" && *format != "junit" {
		fmt.Fprintf(stderr, "gwc test: unknown format %q: use text, json or junit\n", *format)
		return 2
	}
	if len(args) == 0 || len(tests) == 0 {
		fmt.Fprintln(stderr, "gwc test: want PATH... of resources and --tests FILE...")
		return 2
	}
	cases, diags := readTestFiles(tests)
	if len(diags) > 0 {
		printDiags(stderr, diags)
		return 2
	}
	opts, ok := input.options(stderr, "test")
	if !ok {
		return 2
	}
	_, rc, _ := compiledTablesWith(args, opts, stderr)
	if rc == nil {
		return 2 // the configuration does not compile: no verdict
	}
	results := runCases(rc, cases)
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	var err error
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(results)
	case "junit":
		err = writeJUnit(stdout, results)
	default:
		printResults(stdout, results)
		fmt.Fprintf(stdout, "gwc test: %d passed, %d failed\n", len(results)-failed, failed)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gwc test: %v\n", err)
		return 2
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// testsAfterFlag lets --tests take several files, as a shell glob gives
// them: "--tests a.yaml b.yaml" becomes "--tests a.yaml --tests b.yaml".
// A directory ends the run: it is configuration ("--tests t.yaml ./config").
func testsAfterFlag(args []string) []string {
	var out []string
	in := false
	for _, a := range args {
		switch {
		case a == "--tests" || a == "-tests":
			in = true
			out = append(out, a)
			continue
		case strings.HasPrefix(a, "-") || isDir(a):
			in = false
		case in && len(out) > 0 && out[len(out)-1] != "--tests" && out[len(out)-1] != "-tests":
			out = append(out, "--tests")
		}
		out = append(out, a)
	}
	return out
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// testResult is one case's verdict, as --format json prints it.
type testResult struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Name     string   `json:"name"`
	Request  string   `json:"request"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
	Outcome  outcome  `json:"outcome"`
}

func runCases(rc *runtime.Config, cases []testCase) []testResult {
	results := make([]testResult, 0, len(cases))
	for _, c := range cases {
		res := testResult{File: c.pos.File, Line: c.pos.Line, Col: c.pos.Col, Name: c.Name, Request: describeTestRequest(c.Request)}
		req, port, err := testHTTPRequest(c.Request)
		if err != nil {
			res.Failures = []string{err.Error()}
		} else {
			res.Outcome = resolve(rc, req, port)
			res.Failures = check(c.Expect, &res.Outcome)
		}
		res.Passed = len(res.Failures) == 0
		results = append(results, res)
	}
	return results
}

func describeTestRequest(r testRequest) string {
	method, scheme, path := r.Method, r.Scheme, r.Path
	if method == "" {
		method = "GET"
	}
	if scheme == "" {
		scheme = "http"
	}
	if path == "" {
		path = "/"
	}
	var s string
	switch scheme {
	case "tcp":
		s = fmt.Sprintf("tcp connection to port %d", r.Port)
	case "tls":
		s = fmt.Sprintf("tls connection sni %s", orDefault(r.SNI, r.Authority))
	default:
		s = fmt.Sprintf("%s %s://%s%s", method, scheme, r.Authority, path)
	}
	if len(r.Query) > 0 {
		var q []string
		for _, k := range sortedKeys(r.Query) {
			q = append(q, k+"="+r.Query[k])
		}
		s += " query " + strings.Join(q, "&")
	}
	for _, k := range sortedKeys(r.Headers) {
		s += fmt.Sprintf(" [%s: %s]", k, r.Headers[k])
	}
	if r.Port != 0 && scheme != "tcp" && r.Port != requestPort(r.Authority, map[bool]string{true: "https", false: "http"}[scheme == "https" || scheme == "tls"]) {
		s += " port " + strconv.Itoa(r.Port)
	}
	if r.SNI != "" && scheme == "https" {
		s += " sni " + r.SNI
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// check returns what of e the outcome does not meet.
func check(e testExpect, o *outcome) []string {
	var fails []string
	failf := func(format string, args ...any) { fails = append(fails, fmt.Sprintf(format, args...)) }
	if e.Rule != "" && !ruleIs(o.Rule, e.Rule) {
		failf("want the rule %s, got %s", e.Rule, orDefault(o.Rule, "none"))
	}
	if e.Status != 0 && o.Status != e.Status {
		failf("want status %d, got %s", e.Status, o.summary())
	}
	if e.Location != "" && o.Location != e.Location {
		failf("want location %s, got %s", e.Location, orDefault(o.Location, "none"))
	}
	forwarding := e.Cluster != "" || e.Destination != nil || len(e.Destinations) > 0 || e.Path != "" || e.Authority != "" ||
		e.Timeout != "" || e.Retries != nil || len(e.Mirrors) > 0
	if forwarding && o.Reason != "" {
		// Nothing else can be checked: say why once.
		return append(fails, "the request is not forwarded: "+o.summary())
	}
	if forwarding && o.Status != 0 {
		return append(fails, fmt.Sprintf("the request is not forwarded: the gateway answers %s", o.summary()))
	}
	one := func(what string) (destination, bool) {
		if len(o.Destinations) != 1 {
			failf("want one destination %s, got the weighted set %s", what, o.summary())
			return destination{}, false
		}
		return o.Destinations[0], true
	}
	if e.Cluster != "" {
		if d, ok := one(e.Cluster); ok && d.Cluster != e.Cluster {
			failf("want cluster %s, got %s", e.Cluster, d.Cluster)
		}
	}
	if e.Destination != nil {
		if d, ok := one(e.Destination.String()); ok && !e.Destination.names(d.Cluster) {
			failf("want destination %s, got %s", e.Destination, d.Cluster)
		}
	}
	if len(e.Destinations) > 0 {
		checkWeighted(e.Destinations, o.Destinations, failf)
	}
	if e.Path != "" && o.Path != e.Path {
		failf("want path %s upstream, got %s", e.Path, o.Path)
	}
	if e.Authority != "" {
		got := o.Authority
		if len(o.Destinations) == 1 && o.Destinations[0].Authority != "" {
			got = o.Destinations[0].Authority
		}
		if got != e.Authority {
			failf("want authority %s upstream, got %s", e.Authority, got)
		}
	}
	var dest *destination
	if len(o.Destinations) == 1 {
		dest = &o.Destinations[0]
	}
	if e.RequestHeaders != nil {
		var dops headerOps
		if dest != nil {
			dops = dest.RequestHeaders
		}
		checkHeaders("request", e.RequestHeaders, o.RequestHeaders, dops, failf)
	}
	if e.ResponseHeaders != nil {
		var dops headerOps
		if dest != nil {
			dops = dest.ResponseHeaders
		}
		checkHeaders("response", e.ResponseHeaders, o.ResponseHeaders, dops, failf)
	}
	rt := o.rt
	if e.Timeout != "" {
		if want, err := time.ParseDuration(e.Timeout); err != nil {
			failf("timeout %q: %v", e.Timeout, err)
		} else if rt == nil || rt.Timeout != want {
			failf("want timeout %s, got %s", want, orDefault(o.Timeout, "none"))
		}
	}
	if e.Retries != nil && o.Retries == nil {
		failf("want retries, got %s", o.summary())
	}
	if e.Retries != nil && o.Retries != nil {
		got := o.Retries
		if e.Retries.Attempts != nil && *e.Retries.Attempts != got.Attempts {
			failf("want %d retry attempts, got %d", *e.Retries.Attempts, got.Attempts)
		}
		if w := e.Retries.PerTryTimeout; w != "" {
			want, err := time.ParseDuration(w)
			if err != nil || rt == nil || rt.Retry == nil || rt.Retry.PerTryTimeout != want {
				failf("want per-try timeout %s, got %s", w, orDefault(got.PerTryTimeout, "none"))
			}
		}
		if w := e.Retries.RetryOn; w != "" && !sameSet(strings.Split(w, ","), strings.Split(got.RetryOn, ",")) {
			failf("want retries on %s, got %s", w, got.RetryOn)
		}
	}
	if f := e.Fault; f != nil {
		switch {
		case rt == nil || rt.Fault == nil:
			failf("want a fault, got none")
		case f.AbortStatus != 0 && rt.Fault.AbortStatus != f.AbortStatus:
			failf("want fault abort %d, got %s", f.AbortStatus, o.Fault)
		case f.Delay != "":
			if d, err := time.ParseDuration(f.Delay); err != nil || d != rt.Fault.Delay {
				failf("want fault delay %s, got %s", f.Delay, o.Fault)
			}
		}
	}
	if len(e.Mirrors) > 0 {
		var got []string
		for _, m := range o.Mirrors {
			name, _, _ := strings.Cut(m, " at ")
			got = append(got, name)
		}
		if !sameSet(e.Mirrors, got) {
			failf("want mirrors %s, got %s", strings.Join(e.Mirrors, ", "), orDefault(strings.Join(o.Mirrors, ", "), "none"))
		}
	}
	return fails
}

// ruleIs reports whether the rule ID id starts with want at a boundary:
// "vs.yaml:14" names "vs.yaml:14:7 ns/name http[0]", not "vs.yaml:140:...".
func ruleIs(id, want string) bool {
	if !strings.HasPrefix(id, want) {
		return false
	}
	rest := id[len(want):]
	return rest == "" || rest[0] == ':' || rest[0] == ' ' || rest[0] == '.'
}

func (d *testDestination) String() string {
	if d.Cluster != "" {
		return d.Cluster
	}
	var parts []string
	if d.Host != "" {
		parts = append(parts, "host "+d.Host)
	}
	if d.Subset != "" {
		parts = append(parts, "subset "+d.Subset)
	}
	if d.Port != 0 {
		parts = append(parts, "port "+strconv.Itoa(d.Port))
	}
	return strings.Join(parts, " ")
}

// names reports whether the Envoy cluster name ("outbound|PORT|SUBSET|HOST")
// is the destination's.
func (d *testDestination) names(cluster string) bool {
	if d.Cluster != "" {
		return d.Cluster == cluster
	}
	parts := strings.Split(cluster, "|")
	if len(parts) != 4 {
		return false
	}
	return (d.Host == "" || d.Host == parts[3]) && (d.Subset == "" || d.Subset == parts[2]) &&
		(d.Port == 0 || strconv.Itoa(d.Port) == parts[1])
}

func checkWeighted(want []testDestination, got []destination, failf func(string, ...any)) {
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && w.names(g.Cluster) && (w.Weight == nil || uint32(*w.Weight) == g.Weight) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			weight := ""
			if w.Weight != nil {
				weight = fmt.Sprintf(" weight %d", *w.Weight)
			}
			failf("want destination %s%s in the weighted set, got %s", w.String(), weight, (&outcome{Destinations: got}).summary())
		}
	}
	for i, g := range got {
		if !used[i] {
			failf("unexpected destination %s (%d) in the weighted set", g.Cluster, g.Weight)
		}
	}
}

func checkHeaders(dir string, want *testHeaderOps, route, dest headerOps, failf func(string, ...any)) {
	all := slices.Concat(route.Set, route.Add, dest.Set, dest.Add)
	for _, k := range sortedKeys(want.Added) {
		if !slices.Contains(all, strings.ToLower(k)+": "+want.Added[k]) {
			failf("want %s header %s: %s added, got %s", dir, k, want.Added[k], orDefault(strings.Join(all, ", "), "none"))
		}
	}
	removed := slices.Concat(route.Remove, dest.Remove)
	for _, k := range want.Removed {
		if !slices.Contains(removed, strings.ToLower(k)) {
			failf("want %s header %s removed, got %s", dir, k, orDefault(strings.Join(removed, ", "), "none removed"))
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	for i := range x {
		x[i] = strings.TrimSpace(x[i])
	}
	for i := range y {
		y[i] = strings.TrimSpace(y[i])
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func printResults(w io.Writer, results []testResult) {
	for _, r := range results {
		verdict := "PASS"
		if !r.Passed {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s  %s:%d:%d %s\n", verdict, r.File, r.Line, r.Col, r.Name)
		fmt.Fprintf(w, "      %s\n      %s\n", r.Request, r.Outcome.summary())
		if r.Outcome.Rule != "" {
			fmt.Fprintf(w, "      rule %s\n", r.Outcome.Rule)
		}
		for _, f := range r.Failures {
			fmt.Fprintf(w, "      %s\n", f)
		}
	}
}

// JUnit XML, the report format CI systems read: one suite per test file.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Failure   *junitFailure `xml:"failure"`
	SystemOut string        `xml:"system-out"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, results []testResult) error {
	doc := junitSuites{Name: "gwc test"}
	for _, r := range results {
		if len(doc.Suites) == 0 || doc.Suites[len(doc.Suites)-1].Name != r.File {
			doc.Suites = append(doc.Suites, junitSuite{Name: r.File})
		}
		s := &doc.Suites[len(doc.Suites)-1]
		c := junitCase{Name: r.Name, Classname: r.File, File: r.File, Line: r.Line,
			SystemOut: r.Request + "\n" + r.Outcome.summary() + "\nrule " + orDefault(r.Outcome.Rule, "none") + "\n"}
		s.Tests++
		doc.Tests++
		if !r.Passed {
			s.Failures++
			doc.Failures++
			c.Failure = &junitFailure{Message: r.Failures[0], Type: "RouteMismatch", Text: strings.Join(r.Failures, "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
