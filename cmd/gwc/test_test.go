package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRouteTestsOfTheExamples runs the example route test file against
// ./examples, as make test and the README do, in all three formats.
func TestRouteTestsOfTheExamples(t *testing.T) {
	t.Chdir("../..") // the rule IDs the file names are relative to the repository
	var out, errb bytes.Buffer
	if code := run([]string{"test", "./examples", "--tests", "examples-tests/routes.yaml"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "rule examples/upstreams/virtualservice.yaml:13:7 bookinfo/reviews http[0].match[0]") ||
		!strings.Contains(out.String(), "0 failed") {
		t.Errorf("output:\n%s", out.String())
	}

	out.Reset()
	if code := run([]string{"test", "--format", "json", "--tests", "examples-tests/routes.yaml", "./examples"}, nil, &out, &errb); code != 0 {
		t.Fatalf("json: exit %d\n%s", code, errb.String())
	}
	var results []testResult
	if err := json.Unmarshal(out.Bytes(), &results); err != nil || len(results) < 10 {
		t.Fatalf("json: %v, %d results", err, len(results))
	}
	for _, r := range results {
		if !r.Passed || r.File != "examples-tests/routes.yaml" || r.Line == 0 {
			t.Errorf("json result %+v", r)
		}
	}
}

// TestRouteTestFailuresAndJUnit checks verdicts that fail, how they are
// reported, and that the JUnit report is XML CI systems read.
func TestRouteTestFailuresAndJUnit(t *testing.T) {
	dir := t.TempDir()
	tests := filepath.Join(dir, "routes.yaml")
	writeFile(t, tests, `apiVersion: gwc.dev/v1alpha1
kind: RouteTests
tests:
- name: canary
  request: {authority: reviews.example.com, headers: {x-canary: "true"}}
  expect: {destination: {subset: v2}}
- name: wrong subset
  request: {authority: reviews.example.com}
  expect: {destination: {subset: v2}, timeout: 5s}
- name: a host nobody serves
  request: {authority: nowhere.example.com, path: /x}
  expect: {cluster: outbound|9080|v1|reviews.bookinfo.svc.cluster.local}
- name: wrong listener
  request: {authority: reviews.example.com, port: 8443}
  expect: {cluster: x}
`)
	var out, errb bytes.Buffer
	code := run([]string{"test", "../../examples/upstreams", "--tests", tests}, nil, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"PASS  " + tests + ":4:3 canary",
		"FAIL  " + tests + ":7:3 wrong subset",
		"want destination subset v2, got outbound|9080|v1|reviews.bookinfo.svc.cluster.local",
		"want timeout 5s, got 0s",
		`the request is not forwarded: 404 (no virtual host for Host "nowhere.example.com" on port 80)`,
		"no listener on port 8443 (the gateways serve 80)",
		"1 passed, 3 failed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if code := run([]string{"test", "--format", "junit", "../../examples/upstreams", "--tests", tests}, nil, &out, &errb); code != 1 {
		t.Fatalf("junit: exit %d", code)
	}
	var report struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, out.String())
	}
	if report.Tests != 4 || report.Failures != 3 || len(report.Suites) != 1 || report.Suites[0].Name != tests || len(report.Suites[0].Cases) != 4 {
		t.Fatalf("junit report %+v", report)
	}
	cases := report.Suites[0].Cases
	if cases[0].Name != "canary" || cases[0].Failure != nil {
		t.Errorf("case 0: %+v", cases[0])
	}
	if f := cases[1].Failure; f == nil || !strings.Contains(f.Text, "want timeout 5s") || !strings.Contains(f.Message, "subset v2") {
		t.Errorf("case 1 failure: %+v", f)
	}
}

// TestRouteTestFileErrors: a malformed test file is a positioned
// diagnostic and exit 2, never a panic or a silent pass.
func TestRouteTestFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"unknown field", "apiVersion: gwc.dev/v1alpha1\nkind: RouteTests\ntests:\n- name: a\n  request: {authority: a.example.com}\n  expect:\n    clustr: x\n",
			`:7:5: error GWC0101: unknown field "clustr"`},
		{"wrong type", "apiVersion: gwc.dev/v1alpha1\nkind: RouteTests\ntests:\n- name: a\n  request:\n    authority: a.example.com\n    port: eighty\n",
			":7:11: error GWC0103: wrong value"},
		{"not yaml", "apiVersion: gwc.dev/v1alpha1\nkind: RouteTests\ntests: [\n",
			"error GWC0001: invalid YAML"},
		{"wrong kind", "apiVersion: networking.istio.io/v1\nkind: VirtualService\ntests: []\n",
			":1:1: error GWC0103: not a route test file"},
		{"bad scheme", "apiVersion: gwc.dev/v1alpha1\nkind: RouteTests\ntests:\n- name: a\n  request: {scheme: ftp, authority: a.example.com}\n",
			`:4:3: error GWC0103: test "a": unknown scheme "ftp"`},
		{"tests not a list", "apiVersion: gwc.dev/v1alpha1\nkind: RouteTests\ntests: {a: b}\n",
			":3:8: error GWC0103: expected a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "t.yaml")
			writeFile(t, f, tc.text)
			var out, errb bytes.Buffer
			code := run([]string{"test", "../../examples/upstreams", "--tests", f}, nil, &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), f+tc.want) && !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant %q", code, errb.String(), tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
