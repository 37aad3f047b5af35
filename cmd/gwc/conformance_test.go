package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"golang.org/x/tools/txtar"
)

// The conformance suite: testdata/conformance/*.txtar, one group of
// resources each, built once with the real `gwc build` and served by the
// real binary, then many requests against it with their expected outcome.
// Backends are real servers on loopback that report what they saw.
//
// An archive holds the resources (any *.yaml file, a text/template where
// {{port "name"}} starts a backend called name and gives its port, and
// {{closed}} a loopback port nothing listens on), and a file "cases": one
// case a line, "#" lines are comments (the documentation a case follows).
// The archive's comment says "ports: 80 8080", the Gateway ports to serve.
//
//	METHOD URL [-H 'name: value']... [-d body] [via=PORT] => STATUS [expectation]...
//
// The URL's authority is the Host header; the listener is the URL's port
// (80 when absent) unless via= names another. Expectations:
//
//	backend=NAME     the backend that answered ("-": none, a local reply)
//	path=URI         the request URI the backend saw
//	host=HOST        the Host the backend saw
//	seen.NAME=VALUE  a header the backend saw (values joined with ",")
//	unseen.NAME      a header the backend did not see
//	resp.NAME=VALUE  a response header (values joined with ",")
//	noresp.NAME      a response header that is absent
//	body=TEXT        the exact response body
//	bodylen=N        the length of the request body the backend got
//	mirror.NAME=HOST a backend whose name starts with "shadow" got a copy
//	                 with this Host (waits up to 5s)
//	mirror.NAME.path=URI  the copy's request URI (after mirror.NAME)
//	mirror.NAME.bodylen=N the copy's body length (after mirror.NAME)
//	nomirror.NAME    that backend got no copy (waits 200ms)
//
// Backends obey request headers, so that one resource set serves many
// cases: x-test-status (answer with it), x-test-fail-attempts: K with
// x-test-fail-status (answer that status, 503 by default, while
// x-envoy-attempt-count <= K), x-test-grpc-fail-attempts: K (grpc-status 14
// while the attempt count <= K), x-test-delay with x-test-delay-attempts
// (sleep, at most 2s, while the attempt count <= K, all attempts when
// absent), x-test-resp-header: "name=value" (add a response header).

func TestConformance(t *testing.T) {
	archives, err := filepath.Glob("testdata/conformance/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no conformance archives: %v", err)
	}
	total := 0
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
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runGroup(t, ar, cases)
		})
	}
	if total < 150 {
		t.Errorf("the suite has %d cases, want at least 150", total)
	}
}

type confCase struct {
	line    int
	text    string
	method  string
	url     *url.URL
	headers [][2]string
	body    string
	via     int
	status  int
	expect  [][2]string
}

func parseCases(ar *txtar.Archive) ([]confCase, error) {
	var data []byte
	for _, f := range ar.Files {
		if f.Name == "cases" {
			data = f.Data
		}
	}
	var out []confCase
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, err := parseCase(line)
		if err != nil {
			return nil, fmt.Errorf("cases:%d: %v", i+1, err)
		}
		c.line = i + 1
		out = append(out, c)
	}
	return out, nil
}

func parseCase(line string) (confCase, error) {
	c := confCase{text: line}
	toks, err := tokens(line)
	if err != nil {
		return c, err
	}
	arrow := -1
	for i, tk := range toks {
		if tk == "=>" {
			arrow = i
		}
	}
	if arrow < 2 || arrow+1 >= len(toks) {
		return c, fmt.Errorf("want METHOD URL ... => STATUS ...")
	}
	c.method = toks[0]
	if c.url, err = url.Parse(toks[1]); err != nil {
		return c, err
	}
	for i := 2; i < arrow; i++ {
		switch tk := toks[i]; {
		case tk == "-H" && i+1 < arrow:
			name, value, ok := strings.Cut(toks[i+1], ":")
			if !ok {
				return c, fmt.Errorf("header %q has no colon", toks[i+1])
			}
			c.headers = append(c.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
			i++
		case tk == "-d" && i+1 < arrow:
			c.body = toks[i+1]
			i++
		case strings.HasPrefix(tk, "via="):
			c.via, _ = strconv.Atoi(tk[4:])
		default:
			return c, fmt.Errorf("unknown request token %q", tk)
		}
	}
	if c.status, err = strconv.Atoi(toks[arrow+1]); err != nil {
		return c, fmt.Errorf("status: %v", err)
	}
	for _, tk := range toks[arrow+2:] {
		k, v, _ := strings.Cut(tk, "=")
		c.expect = append(c.expect, [2]string{k, v})
	}
	return c, nil
}

// tokens splits on spaces; single quotes group, as in a shell.
func tokens(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, has := false, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			in, has = !in, true
		case ch == ' ' && !in:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteByte(ch)
			has = true
		}
	}
	if in {
		return nil, fmt.Errorf("unbalanced quote")
	}
	if has {
		out = append(out, cur.String())
	}
	return out, nil
}

var portsRE = regexp.MustCompile(`(?m)^ports:((?: \d+)+)$`)

func runGroup(t *testing.T, ar *txtar.Archive, cases []confCase) {
	m := portsRE.FindStringSubmatch(string(ar.Comment))
	if m == nil {
		t.Fatal(`archive comment has no "ports:" line`)
	}
	var ports []int
	for _, f := range strings.Fields(m[1]) {
		p, _ := strconv.Atoi(f)
		ports = append(ports, p)
	}
	backends := map[string]int{}
	shadows := map[string]chan seenRequest{}
	funcs := template.FuncMap{
		"port": func(name string) int {
			if p, ok := backends[name]; ok {
				return p
			}
			var rec chan seenRequest
			if strings.HasPrefix(name, "shadow") {
				rec = make(chan seenRequest, 64)
				shadows[name] = rec
			}
			backends[name] = echoBackend(t, name, rec)
			return backends[name]
		},
		"closed": func() int { return closedPort(t) },
	}
	dir := t.TempDir()
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
	bin := buildPaths(t, dir)
	in := startIngress(t, bin, ports...)
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	for _, c := range cases {
		runCase(t, in, client, c, shadows)
	}
}

// seenRequest is what an echo backend reports.
type seenRequest struct {
	Backend string            `json:"backend"`
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	BodyLen int               `json:"bodylen"`
}

func runCase(t *testing.T, in *ingress, client *http.Client, c confCase, shadows map[string]chan seenRequest) {
	t.Helper()
	port := c.via
	if port == 0 {
		port = 80
		if p := c.url.Port(); p != "" {
			port, _ = strconv.Atoi(p)
		}
	}
	target := c.url.EscapedPath()
	if target == "" {
		target = "/"
	}
	if c.url.RawQuery != "" || c.url.ForceQuery {
		target += "?" + c.url.RawQuery
	}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, in.url(port)+target, body)
	if err != nil {
		t.Fatalf("cases:%d: %v", c.line, err)
	}
	req.Host = c.url.Host
	for _, h := range c.headers {
		if strings.EqualFold(h[0], "host") {
			req.Host = h[1]
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("cases:%d: %s: %v", c.line, c.text, err)
		return
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fail := func(format string, args ...any) {
		t.Errorf("cases:%d: %s\n    %s\n    response: %d %v %q", c.line, c.text, fmt.Sprintf(format, args...), resp.StatusCode, resp.Header, respBody)
	}
	if resp.StatusCode != c.status {
		fail("status %d, want %d", resp.StatusCode, c.status)
		return
	}
	var copied *seenRequest
	var seen *seenRequest
	if resp.Header.Get("X-Test-Backend") != "" {
		seen = &seenRequest{}
		if err := json.Unmarshal(respBody, seen); err != nil {
			fail("decoding the backend's report: %v", err)
			return
		}
	}
	for _, e := range c.expect {
		k, v := e[0], e[1]
		switch {
		case k == "backend":
			got := "-"
			if seen != nil {
				got = seen.Backend
			}
			if got != v {
				fail("backend %s, want %s", got, v)
			}
		case strings.HasPrefix(k, "mirror."):
			name, field, _ := strings.Cut(k[7:], ".")
			switch field {
			case "":
				copied = nil
				select {
				case got := <-shadows[name]:
					copied = &got
					if got.Host != v {
						fail("mirror %s saw Host %q, want %q", name, got.Host, v)
					}
				case <-time.After(5 * time.Second):
					fail("mirror %s got no copy", name)
				}
			case "path":
				if copied == nil || copied.URI != v {
					fail("mirror %s saw %+v, want URI %q", name, copied, v)
				}
			case "bodylen":
				if n, _ := strconv.Atoi(v); copied == nil || copied.BodyLen != n {
					fail("mirror %s saw %+v, want %d body bytes", name, copied, n)
				}
			}
		case strings.HasPrefix(k, "nomirror."):
			select {
			case got := <-shadows[k[9:]]:
				fail("mirror %s got a copy: %+v", k[9:], got)
			case <-time.After(200 * time.Millisecond):
			}
		case k == "body":
			if string(respBody) != v {
				fail("body %q, want %q", respBody, v)
			}
		case strings.HasPrefix(k, "resp."):
			if got := strings.Join(resp.Header.Values(k[5:]), ","); got != v {
				fail("response header %s = %q, want %q", k[5:], got, v)
			}
		case strings.HasPrefix(k, "noresp."):
			if vals := resp.Header.Values(k[7:]); len(vals) > 0 {
				fail("response header %s = %q, want none", k[7:], vals)
			}
		case seen == nil:
			fail("%s: no backend answered", k)
		case k == "path":
			if seen.URI != v {
				fail("backend saw %q, want %q", seen.URI, v)
			}
		case k == "host":
			if seen.Host != v {
				fail("backend saw Host %q, want %q", seen.Host, v)
			}
		case k == "bodylen":
			if n, _ := strconv.Atoi(v); seen.BodyLen != n {
				fail("backend got %d body bytes, want %d", seen.BodyLen, n)
			}
		case strings.HasPrefix(k, "seen."):
			got, ok := seen.Headers[strings.ToLower(k[5:])]
			if !ok || got != v {
				fail("backend saw %s = %q (present %t), want %q", k[5:], got, ok, v)
			}
		case strings.HasPrefix(k, "unseen."):
			if got, ok := seen.Headers[strings.ToLower(k[7:])]; ok {
				fail("backend saw %s = %q, want none", k[7:], got)
			}
		default:
			fail("unknown expectation %q", k)
		}
	}
}

// echoBackend starts a backend that reports what it saw as JSON and obeys
// the x-test-* request headers.
func echoBackend(t *testing.T, name string, rec chan<- seenRequest) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
		attempt, _ := strconv.Atoi(r.Header.Get("X-Envoy-Attempt-Count"))
		upTo := func(h string) bool {
			v := r.Header.Get(h)
			if v == "" {
				return false
			}
			k, _ := strconv.Atoi(v)
			return attempt <= k
		}
		if d, err := time.ParseDuration(r.Header.Get("X-Test-Delay")); err == nil {
			if r.Header.Get("X-Test-Delay-Attempts") == "" || upTo("X-Test-Delay-Attempts") {
				select {
				case <-time.After(min(d, 2*time.Second)):
				case <-r.Context().Done():
					return
				}
			}
		}
		status := 200
		if s, err := strconv.Atoi(r.Header.Get("X-Test-Status")); err == nil {
			status = s
		}
		if upTo("X-Test-Fail-Attempts") {
			status = 503
			if s, err := strconv.Atoi(r.Header.Get("X-Test-Fail-Status")); err == nil {
				status = s
			}
		}
		if upTo("X-Test-Grpc-Fail-Attempts") {
			w.Header().Set("Grpc-Status", "14")
		}
		if hv := r.Header.Get("X-Test-Resp-Header"); hv != "" {
			k, v, _ := strings.Cut(hv, "=")
			w.Header().Add(k, v)
		}
		hs := map[string]string{}
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			hs[strings.ToLower(k)] = strings.Join(r.Header[k], ",")
		}
		report := seenRequest{Backend: name, Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: hs, BodyLen: int(n)}
		if rec != nil {
			select {
			case rec <- report:
			default:
			}
		}
		w.Header().Set("X-Test-Backend", name)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(report)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}
