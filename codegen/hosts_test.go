package codegen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// configs compiles every configuration of gwc's tests and examples that
// compiles: the compiler's and the command's test archives, each example,
// and a configuration of many virtual hosts of every route kind.
func configs(t *testing.T) map[string]*ir.Config {
	t.Helper()
	out := map[string]*ir.Config{}
	compile := func(name string, paths ...string) {
		if cfg := compiler.Run(paths, compiler.Options{Namespace: "default"}).Config; cfg != nil {
			out[name] = cfg
		}
	}
	for _, pattern := range []string{"../compiler/testdata/*.txtar", "../cmd/gwc/testdata/script/*.txtar"} {
		archives, err := filepath.Glob(pattern)
		if err != nil || len(archives) == 0 {
			t.Fatalf("no archives match %s: %v", pattern, err)
		}
		for _, a := range archives {
			ar, err := txtar.ParseFile(a)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range ar.Files {
				ext := filepath.Ext(f.Name)
				if ext != ".yaml" && ext != ".yml" && ext != ".json" && ext != ".cue" || strings.Contains(f.Name, "..") {
					continue
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			compile(a, dir)
		}
	}
	for _, ex := range []string{"coolstore", "upstreams", "plugins", "tcp-echo", "tls/https", "tls/mtls", "tls/passthrough", "tls/sni"} {
		compile(ex, filepath.Join("../examples", ex))
	}
	many := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(many, []byte(manyHosts(150)), 0o644); err != nil {
		t.Fatal(err)
	}
	compile("many", many)
	if out["many"] == nil {
		t.Fatal("the configuration of many hosts does not compile")
	}
	return out
}

// manyHosts is a Gateway, a ServiceEntry and n VirtualServices with exact,
// prefix, regex, header, redirect, direct-response, rewrite, timeout and
// weighted routes, some with wildcard hosts.
func manyHosts(n int) string {
	var b strings.Builder
	b.WriteString(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}, {address: 127.0.0.2, weight: 3}]
`)
	for i := range n {
		host := fmt.Sprintf("h%d.example.com", i)
		if i%7 == 0 {
			host = fmt.Sprintf("*.w%d.example.com", i)
		}
		fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs-%d, namespace: default}
spec:
  hosts: [%q]
  gateways: [gw]
  http:
  - match: [{uri: {exact: /login}}, {headers: {x-user: {prefix: "a%d"}}}]
    route: [{destination: {host: backend, port: {number: 8080}}, weight: 90}, {destination: {host: backend, port: {number: 8080}}, weight: 10}]
    timeout: %ds
  - match: [{uri: {regex: "/items/[0-9]{%d}"}}]
    rewrite: {uri: /v2/}
    route: [{destination: {host: backend}}]
  - match: [{uri: {prefix: /old/}}]
    redirect: {uri: /new/, redirectCode: 301}
  - match: [{uri: {prefix: /gone}}]
    directResponse: {status: 410, body: {string: "gone %d"}}
  - route: [{destination: {host: backend}}]
`, i, host, i, 1+i%9, 1+i%5, i)
	}
	return b.String()
}

// TestHostsFormattedAloneAsWhole: formatting each virtual host on its own
// gives, byte for byte, what formatting the whole file gives.
func TestHostsFormattedAloneAsWhole(t *testing.T) {
	cfgs := configs(t)
	for _, s := range []string{"x.example.com", `"; } func init() { panic("owned") } var _ = "`, "line\nbreak } //", "back\\slash\x00nul\u2028sep\r\n", placeholderKey + "0: 0,"} {
		cfgs["hostile "+s] = hostileConfig(s)
	}
	t.Logf("%d configurations", len(cfgs))
	if len(cfgs) < 25 {
		t.Fatalf("only %d configurations compiled", len(cfgs))
	}
	for name, cfg := range cfgs {
		split, err := generate(cfg, true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		whole, err := generate(cfg, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range whole {
			if split[i].Name != whole[i].Name || !bytes.Equal(split[i].Data, whole[i].Data) {
				t.Errorf("%s: %s formatted by virtual host differs from %s formatted whole:\n%s", name, split[i].Name, whole[i].Name, firstDiff(split[i].Data, whole[i].Data))
			}
		}
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %q\n  %q", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}
