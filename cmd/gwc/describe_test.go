package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoutesAndExplainEveryExample runs gwc routes (text and JSON) and gwc
// explain on every example folder, TLS and TCP ones included, with a
// request for each virtual host and connection route of each listener.
func TestRoutesAndExplainEveryExample(t *testing.T) {
	var dirs []string
	filepath.WalkDir("../../examples", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") && !slices.Contains(dirs, filepath.Dir(path)) {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if len(dirs) < 7 {
		t.Fatalf("found %d example folders: %v", len(dirs), dirs)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, args := range [][]string{{"routes", dir}, {"routes", "--format", "json", dir}} {
				var stdout, stderr bytes.Buffer
				if code := run(args, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "listener") {
					t.Fatalf("gwc %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
				}
			}
			_, rc, code := compiledTables([]string{dir}, "default", io.Discard)
			if rc == nil {
				t.Fatalf("compiling: exit %d", code)
			}
			explained := 0
			for _, l := range rc.Listeners {
				scheme := "http"
				if len(l.TLS) > 0 || strings.EqualFold(l.Protocol, "TLS") {
					scheme = "https"
				}
				var hosts []string
				for _, vh := range l.VirtualHosts {
					hosts = append(hosts, strings.Replace(vh.Domain, "*", "any", 1))
				}
				for _, r := range l.L4 {
					host := "any.example.com"
					if len(r.SNI) > 0 {
						host = strings.Replace(r.SNI[0], "*", "any", 1)
					}
					hosts = append(hosts, host)
				}
				for _, host := range hosts {
					req := fmt.Sprintf("GET %s://%s:%d/", scheme, host, l.Port)
					var stdout, stderr bytes.Buffer
					if code := run([]string{"explain", dir, req}, nil, &stdout, &stderr); code != 0 {
						t.Fatalf("gwc explain %s %q: exit %d\n%s", dir, req, code, stderr.String())
					}
					out := stdout.String()
					if !strings.Contains(out, "\nresult ") || strings.Contains(out, "none on port") || strings.Contains(out, "handshake fails") ||
						strings.Contains(out, "no virtual host") || strings.Contains(out, "another server") {
						t.Errorf("gwc explain %s %q:\n%s", dir, req, out)
					}
					explained++
				}
			}
			if explained == 0 {
				t.Error("no request explained")
			}
		})
	}
}

// TestExplainHTTPSRedirect: a plaintext request for a host of a server
// with httpsRedirect gets a 301 to the https URL; the same request over
// https reaches the route.
func TestExplainHTTPSRedirect(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"explain", "../../examples/tls/https", "GET http://webapp.example.com/x?y=1"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"listener  :80 HTTP", "result    301", "location  https://webapp.example.com/x?y=1"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("explain lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if code := run([]string{"explain", "../../examples/tls/https", "GET https://webapp.example.com/x"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"listener  :443 HTTPS", "tls       ", "MATCHES any", "result    -> outbound|8080||webapp"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("explain over https lacks %q:\n%s", want, stdout.String())
		}
	}
}

// everyFieldConfig uses every match field and every action a route has.
var everyFieldConfig = map[string]string{
	"gw.yaml": `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: shop
  annotations: {gwc.io/compression: "gzip", gwc.io/max-request-body: "1Mi"}
spec:
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["shop.example.com"]
`,
	"se.yaml": `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local, web2.shop.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`,
	"vs.yaml": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /old}, ignoreUriCase: true}]
    redirect: {prefixRewrite: /new, port: 8443, scheme: https}
  - match: [{uri: {exact: /gone}}]
    redirect: {uri: /here, authority: other.example.com, redirectCode: 308}
  - match: [{uri: {exact: /teapot}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - name: api
    match:
    - name: m0
      uri: {prefix: /api/}
      method: {exact: GET}
      headers: {x-h: {regex: "h.*"}}
      queryParams: {v: {exact: "2"}, debug: {}}
      withoutHeaders: {x-block: {}}
    - uri: {regex: '/v[0-9]+/.*'}
    rewrite: {uri: /}
    headers:
      request: {set: {x-a: "1"}, add: {x-b: "100%%"}, remove: [x-c]}
      response: {set: {x-d: d}, add: {x-e: e}, remove: [x-f]}
    timeout: 1.5s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,503,409"}
    route:
    - destination: {host: web}
      weight: 90
      headers: {request: {set: {x-dest: a}}, response: {remove: [x-g]}}
    - destination: {host: web2}
      weight: 10
  - match: [{uri: {prefix: /r/}}]
    rewrite: {uriRegexRewrite: {match: '^/r/(.*)$', rewrite: '/\1'}, authority: r.internal}
    retries: {attempts: 0}
    route: [{destination: {host: web}}]
  - match: [{uri: {prefix: /f/}}]
    fault:
      delay: {fixedDelay: 10ms, percentage: {value: 12.5}}
      abort: {httpStatus: 503, percentage: {value: 1}}
    corsPolicy:
      allowOrigins: [{exact: "https://a.example"}, {regex: 'https://.*\.b\.example'}]
      allowMethods: [GET, POST]
      allowHeaders: [x-a]
      exposeHeaders: [x-b]
      maxAge: 1h
      allowCredentials: true
    mirror: {host: web2}
    mirrorPercentage: {value: 50}
    retries: {attempts: 1, retryOn: gateway-error, backoff: 10ms, retryIgnorePreviousHosts: false}
    route: [{destination: {host: web}}]
`,
}

var adminBound = regexp.MustCompile(`msg="admin server bound" addr=(\S+)`)

// TestAdminShowsEveryField: a binary's /config_dump and /routes describe
// every route of a configuration that uses every match field and action
// exactly as gwc routes prints it, and the description shows them all.
func TestAdminShowsEveryField(t *testing.T) {
	dir := t.TempDir()
	for name, data := range everyFieldConfig {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"routes", "--format", "json", dir}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("gwc routes: exit %d: %s", code, stderr.String())
	}
	var rows []routeRow
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	in := startIngress(t, buildPaths(t, dir), 8080)
	m := adminBound.FindStringSubmatch(in.logs())
	if m == nil {
		t.Fatalf("no admin address in the log:\n%s", in.logs())
	}
	type dumped struct {
		Listeners []struct {
			VirtualHosts []struct {
				Domain string
				Routes []struct {
					ID      string
					Matches []string
					Action  []string
				}
			}
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, endpoint := range []string{"/config_dump", "/routes"} {
		resp, err := client.Get("http://" + m[1] + endpoint)
		if err != nil {
			t.Fatal(err)
		}
		var d dumped
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		var all strings.Builder
		i := 0
		for _, l := range d.Listeners {
			for _, vh := range l.VirtualHosts {
				for _, r := range vh.Routes {
					if i >= len(rows) {
						t.Fatalf("%s has more routes than gwc routes (%d)", endpoint, len(rows))
					}
					row := rows[i]
					if r.ID != row.From || !slices.Equal(r.Matches, row.Matches) || strings.Join(r.Action, "; ") != row.Action {
						t.Errorf("%s route %d:\n %s %q %q\ngwc routes:\n %s %q %q", endpoint, i, r.ID, r.Matches, r.Action, row.From, row.Matches, row.Action)
					}
					fmt.Fprintf(&all, "%s\n%s\n", strings.Join(r.Matches, " | "), strings.Join(r.Action, "; "))
					i++
				}
			}
		}
		if i != len(rows) {
			t.Errorf("%s has %d routes, gwc routes %d", endpoint, i, len(rows))
		}
		for _, want := range []string{
			`(m0) uri prefix "/api/" method exact "GET" header x-h regex "h.*" without x-block present query debug present query v exact "2"`,
			`uri prefix "/old" ignoreUriCase`, "redirect 301 scheme=https authority=(kept) port=8443 path=/old* -> /new* ignoring case",
			"redirect 308 scheme=(kept) authority=other.example.com", `direct response 418 (15 bytes) "short and stout"`,
			"rewrite prefix /api/ to /", "outbound|8080||web.shop.svc.cluster.local (90, request headers set x-dest: a, response headers remove x-g)",
			"request headers set x-a: 1, add x-b: 100%, remove x-c", "response headers set x-d: d, add x-e: e, remove x-f",
			"timeout 1.5s", "retries 3 on 5xx,retriable-status-codes (409,503)", "per try 500ms", "no retries",
			`rewrite "^/r/(.*)$" to "/\\1"`, "authority r.internal", "delay 10ms at 12.5%", "abort 503 at 1%",
			`cors origins exact "https://a.example", regex "https://.*\\.b\\.example" methods GET,POST headers x-a expose x-b max-age 3600 credentials`,
			"mirror outbound|8080||web2.shop.svc.cluster.local at 50%", "backoff 10ms", "retries may reuse hosts",
			"compress gzip", "max request body 1048576 bytes",
		} {
			if !strings.Contains(all.String(), want) {
				t.Errorf("%s lacks %q:\n%s", endpoint, want, all.String())
			}
		}
	}
}
