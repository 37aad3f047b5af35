package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"
	"golang.org/x/tools/txtar"
)

// TestConformanceAsRouteTests expresses the conformance cases
// (testdata/conformance, which TestConformance runs against the real
// binary and real backends) as route test files and runs them with gwc
// test on the same resources: every case's routing verdict must be the
// one the live suite asserts. What a case expects of the routing is
// translated (the backend that answers becomes its cluster, a local reply
// its status, path= and host= what is sent upstream, a redirect's
// Location); what only a live exchange shows (the backend's own status,
// retries, timeouts, faults at a percentage, bodies, mirrors' copies) is
// not, and a case with nothing of routing left is counted, not run.
func TestConformanceAsRouteTests(t *testing.T) {
	archives, err := filepath.Glob("testdata/conformance/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no conformance archives: %v", err)
	}
	total, expressed := 0, 0
	left := map[string]int{}
	for _, path := range archives {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := parseCases(ar)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		total += len(cases)
		dir := t.TempDir()
		clusterOf := renderOffline(t, ar, dir)
		doc := testDoc{APIVersion: testsAPIVersion, Kind: testsKind}
		var lines []int
		for _, c := range cases {
			tc, why := routeTestOf(c, clusterOf)
			if why != "" {
				left[why]++
				continue
			}
			doc.Tests = append(doc.Tests, tc)
			lines = append(lines, c.line)
		}
		expressed += len(doc.Tests)
		if len(doc.Tests) == 0 {
			continue
		}
		data, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "routes.yaml")
		writeFile(t, file, string(data))
		var out, errb bytes.Buffer
		code := run([]string{"test", "--format", "json", dir, "--tests", file}, nil, &out, &errb)
		var results []testResult
		if err := json.Unmarshal(out.Bytes(), &results); err != nil || len(results) != len(doc.Tests) {
			t.Fatalf("%s: exit %d, %v, %d results\n%s%s", path, code, err, len(results), out.String(), errb.String())
		}
		for i, r := range results {
			if !r.Passed {
				t.Errorf("%s cases:%d: %s\n    gwc test: %s\n    outcome: %s (rule %s)", path, lines[i], cases[indexOfLine(cases, lines[i])].text,
					strings.Join(r.Failures, "; "), r.Outcome.summary(), r.Outcome.Rule)
			}
		}
	}
	t.Logf("%d of %d conformance cases expressed as route tests; not expressed: %v", expressed, total, left)
	// A floor, so that a change to the translation or to the suite that
	// drops cases shows.
	if expressed < 170 {
		t.Errorf("only %d of %d conformance cases expressed as route tests", expressed, total)
	}
}

func indexOfLine(cases []confCase, line int) int {
	for i, c := range cases {
		if c.line == line {
			return i
		}
	}
	return 0
}

// renderOffline writes the archive's resources into dir with a fixed port
// for each backend, and returns each backend's clusters by name.
func renderOffline(t *testing.T, ar *txtar.Archive, dir string) func(backend string) []string {
	t.Helper()
	ports := map[string]int{}
	funcs := template.FuncMap{
		"port": func(name string) int {
			if _, ok := ports[name]; !ok {
				ports[name] = 41000 + len(ports)
			}
			return ports[name]
		},
		"closed": func() int { return 40999 },
	}
	for _, f := range ar.Files {
		if !strings.HasSuffix(f.Name, ".yaml") {
			continue
		}
		tmpl, err := template.New(f.Name).Funcs(funcs).Parse(string(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var errb bytes.Buffer
	_, rc, _ := compiledTables([]string{dir}, "default", &errb)
	if rc == nil {
		t.Fatalf("compiling: %s", errb.String())
	}
	return func(backend string) []string {
		var out []string
		suffix := ":" + strconv.Itoa(ports[backend])
		for _, c := range rc.Clusters {
			for _, e := range c.Endpoints {
				if strings.HasSuffix(e.Address, suffix) {
					out = append(out, c.Name)
					break
				}
			}
		}
		return out
	}
}

// routeTestOf translates a conformance case; false when nothing of it is
// decided by the route tables alone.
func routeTestOf(c confCase, clusterOf func(string) []string) (testCase, string) {
	tc := testCase{Name: fmt.Sprintf("cases:%d %s", c.line, c.text)}
	r := &tc.Request
	r.Method = c.method
	r.Scheme = c.url.Scheme
	r.Authority = c.url.Host
	r.Path = c.url.EscapedPath()
	if c.url.RawQuery != "" {
		r.Path += "?" + c.url.RawQuery
	}
	r.Port = c.via
	for _, h := range c.headers {
		if strings.EqualFold(h[0], "host") {
			r.Authority = h[1]
			continue
		}
		if strings.HasPrefix(strings.ToLower(h[0]), "x-test-") || strings.EqualFold(h[0], "x-envoy-upstream-rq-timeout-ms") || strings.EqualFold(h[0], "grpc-timeout") {
			return tc, "x-test- headers (the backend's or the exchange's behaviour)"
		}
		if r.Headers == nil {
			r.Headers = map[string]string{}
		}
		if v, ok := r.Headers[h[0]]; ok {
			r.Headers[h[0]] = v + "," + h[1]
		} else {
			r.Headers[h[0]] = h[1]
		}
	}
	if c.body != "" || c.method == "OPTIONS" {
		return tc, "request bodies and CORS preflights (answered by the exchange)"
	}
	e := &tc.Expect
	any := false
	local, faultBody := false, false
	for _, x := range c.expect {
		switch {
		case x[0] == "backend" && x[1] == "-":
			local = true
		case x[0] == "body" && x[1] == "fault filter abort":
			faultBody = true
		case x[0] == "resp.grpc-status":
			return tc, "gRPC statuses (an abort or an upstream's error)"
		}
	}
	if local && !faultBody && (c.status == 503 || c.status == 504) {
		return tc, "503 and 504 local replies (an upstream that fails or times out)"
	}
	for _, x := range c.expect {
		k, v := x[0], x[1]
		switch {
		case k == "backend" && v == "-" && faultBody:
			e.Fault = &testFault{AbortStatus: c.status}
			any = true
		case k == "backend" && v == "-":
			e.Status = c.status
			any = true
		case k == "backend":
			clusters := clusterOf(v)
			if len(clusters) != 1 {
				return tc, "a backend in several clusters"
			}
			for _, d := range clusters {
				e.Destinations = append(e.Destinations, testDestination{Cluster: d})
			}
			any = true
		case k == "path":
			p, _, _ := strings.Cut(v, "?")
			e.Path = p
		case k == "host":
			e.Authority = v
		case k == "resp.location":
			e.Location = v
		}
	}
	if !any {
		return tc, "no routing expectation (the backend's status, headers, mirrors)"
	}
	return tc, ""
}
