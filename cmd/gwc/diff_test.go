package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const diffGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`

// diffShop is the OLD of every pair: /api to api, the rest to web.
const diffShop = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: api, subset: v1, port: {number: 8080}}
      weight: 90
    - destination: {host: api, subset: v2, port: {number: 8080}}
      weight: 10
  - name: web
    route:
    - destination: {host: web, port: {number: 8080}}
`

const diffRules = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.shop.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, labels: {version: v1}}
  - {address: 127.0.0.2, labels: {version: v2}}
`

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, text)
	}
}

// runDiffPair writes OLD and NEW into old/ and new/ of a temporary
// directory and runs gwc diff there.
func runDiffPair(t *testing.T, oldFiles, newFiles map[string]string, extra ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, filepath.Join(dir, "old"), oldFiles)
	writeTree(t, filepath.Join(dir, "new"), newFiles)
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code := run(append(append([]string{"diff"}, extra...), "old", "--", "new"), nil, &out, &errb)
	if code == 2 {
		t.Fatalf("exit 2: %s", errb.String())
	}
	return code, out.String()
}

func oldShop() map[string]string {
	return map[string]string{"gateway.yaml": diffGateway, "shop.yaml": diffShop, "rules.yaml": diffRules}
}

func TestDiffNoBehaviourChange(t *testing.T) {
	// The same resources, reformatted (flow and block style, comments,
	// other lines) and spread over other files in another order.
	reformatted := `# the shop's routes
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  namespace: shop
  name: shop
spec:
  gateways:
  - gw
  hosts:
  - shop.example.com
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    route:
    - weight: 90
      destination:
        port: {number: 8080}
        subset: v1
        host: api
    - {weight: 10, destination: {host: api, subset: v2, port: {number: 8080}}}
  - name: web
    route: [{destination: {host: web, port: {number: 8080}}}]
`
	code, out := runDiffPair(t, oldShop(), map[string]string{
		"a/all.yaml": diffRules + "---\n" + reformatted, "z-gateway.yaml": diffGateway,
	})
	if code != 0 || strings.TrimSpace(out) != "gwc diff: no behaviour change" {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestDiffReorderedRules(t *testing.T) {
	swapped := strings.Replace(diffShop, `  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: api, subset: v1, port: {number: 8080}}
      weight: 90
    - destination: {host: api, subset: v2, port: {number: 8080}}
      weight: 10
  - name: web
    route:
    - destination: {host: web, port: {number: 8080}}
`, `  - name: web
    route:
    - destination: {host: web, port: {number: 8080}}
  - name: api
    match:
    - uri: {prefix: /api}
    route:
    - destination: {host: api, subset: v1, port: {number: 8080}}
      weight: 90
    - destination: {host: api, subset: v2, port: {number: 8080}}
      weight: 10
`, 1)
	code, out := runDiffPair(t, oldShop(), map[string]string{"gateway.yaml": diffGateway, "shop.yaml": swapped, "rules.yaml": diffRules})
	for _, want := range []string{
		"requests that now go elsewhere\n  GET http://shop.example.com/api  (and 1 other request moved the same way)\n" +
			"    old  -> outbound|8080|v1|api.shop.svc.cluster.local (90), outbound|8080|v2|api.shop.svc.cluster.local (10)  by old/shop.yaml:10:7 shop/shop http[0].match[0]\n" +
			"    new  -> outbound|8080||web.shop.svc.cluster.local (100)  by new/shop.yaml:8:5 shop/shop http[0]\n",
		"rules unreachable in NEW\n  ! new/shop.yaml:11:5 VirtualService shop/shop spec.http[1]: rule is unreachable: spec.http[0] before it matches every request\n",
		// The compiler leaves the unreachable rule out, as istiod does.
		"routes removed\n  - :80 HTTP shop.example.com  uri prefix \"/api\"",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks\n%s\ngot:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "routes added\n") {
		t.Errorf("a reordering adds no route:\n%s", out)
	}
}

func TestDiffNewShadowingRule(t *testing.T) {
	canary := strings.Replace(diffShop, "  http:\n", `  http:
  - name: canary
    match:
    - headers: {x-canary: {exact: "yes"}}
    - uri: {prefix: /api/v2}
    route:
    - destination: {host: api, subset: v2, port: {number: 8080}}
`, 1)
	code, out := runDiffPair(t, oldShop(), map[string]string{"gateway.yaml": diffGateway, "shop.yaml": canary, "rules.yaml": diffRules})
	for _, want := range []string{
		"routes added\n  + :80 HTTP shop.example.com  header x-canary exact \"yes\"  -> outbound|8080|v2|api.shop.svc.cluster.local (100)",
		"GET http://shop.example.com/ [x-canary: yes]  (and 1 other request moved the same way)\n    old  -> outbound|8080||web.shop.svc.cluster.local (100)  by old/shop.yaml:16:5 shop/shop http[1]\n" +
			"    new  -> outbound|8080|v2|api.shop.svc.cluster.local (100)  by new/shop.yaml:10:7 shop/shop http[0].match[0]",
		"GET http://shop.example.com/api/v2  (and 1 other request moved the same way)\n" +
			"    old  -> outbound|8080|v1|api.shop.svc.cluster.local (90), outbound|8080|v2|api.shop.svc.cluster.local (10)  by old/shop.yaml:10:7 shop/shop http[0].match[0]\n" +
			"    new  -> outbound|8080|v2|api.shop.svc.cluster.local (100)  by new/shop.yaml:11:7 shop/shop http[0].match[1]\n",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks\n%s\ngot:\n%s", code, want, out)
		}
	}
}

// TestDiffShadowedNewRule: a rule added below one whose prefix takes all
// its requests is reported unreachable, and moves nothing.
func TestDiffShadowedNewRule(t *testing.T) {
	health := strings.Replace(diffShop, "  - name: web\n", `  - name: health
    match:
    - uri: {exact: /api/health}
    route:
    - destination: {host: web, port: {number: 8080}}
  - name: web
`, 1)
	code, out := runDiffPair(t, oldShop(), map[string]string{"gateway.yaml": diffGateway, "shop.yaml": health, "rules.yaml": diffRules})
	want := "rules unreachable in NEW\n  ! :80 HTTP shop.example.com route 1 (new/shop.yaml:18:7 shop/shop http[1].match[0]): every request it matches is taken by route 0 (new/shop.yaml:10:7 shop/shop http[0].match[0])\n"
	if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "requests that now go elsewhere") {
		t.Errorf("exit %d, want\n%s\ngot:\n%s", code, want, out)
	}
}

func TestDiffWeightChange(t *testing.T) {
	weights := strings.Replace(strings.Replace(diffShop, "weight: 90", "weight: 50", 1), "weight: 10", "weight: 50", 1)
	code, out := runDiffPair(t, oldShop(), map[string]string{"gateway.yaml": diffGateway, "shop.yaml": weights, "rules.yaml": diffRules}, "--format", "json")
	var d routingDiff
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 1 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(d.Moved) != 1 || d.Moved[0].Request != "GET http://shop.example.com/api" || d.Moved[0].New.Destinations[0].Weight != 50 ||
		d.Moved[0].Old.Destinations[0].Weight != 90 || d.Moved[0].More != 1 {
		t.Errorf("moved: %+v", d.Moved)
	}
	if len(d.RoutesAdded) != 1 || len(d.RoutesRemoved) != 1 || len(d.Unreachable) != 0 {
		t.Errorf("diff: %+v", d)
	}
}

func TestDiffHostMovedToAnotherGateway(t *testing.T) {
	gw2 := diffGateway + `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw2, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http-alt, protocol: HTTP}
    hosts: ["shop.example.com"]
`
	moved := strings.Replace(diffShop, "gateways: [gw]", "gateways: [gw2]", 1)
	code, out := runDiffPair(t, oldShop(), map[string]string{"gateway.yaml": gw2, "shop.yaml": moved, "rules.yaml": diffRules})
	for _, want := range []string{
		"listeners added\n  + :8080 HTTP\n",
		"hosts added\n  + :8080 HTTP shop.example.com\n",
		"hosts removed\n  - :80 HTTP shop.example.com\n",
		"  GET http://shop.example.com/  (and",
		`    new  404 (no virtual host for Host "shop.example.com" on port 80)`,
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks\n%s\ngot:\n%s", code, want, out)
		}
	}
}

func TestDiffDelegateChange(t *testing.T) {
	root := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - match:
    - uri: {prefix: /api}
    delegate: {name: api-routes, namespace: shop}
  - route:
    - destination: {host: web, port: {number: 8080}}
`
	delegate := func(extra string) string {
		return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-routes, namespace: shop}
spec:
  http:
` + extra + `  - route:
    - destination: {host: api, subset: v1, port: {number: 8080}}
`
	}
	oldFiles := map[string]string{"gateway.yaml": diffGateway, "shop.yaml": root, "api.yaml": delegate(""), "rules.yaml": diffRules}
	newFiles := map[string]string{"gateway.yaml": diffGateway, "shop.yaml": root, "rules.yaml": diffRules, "api.yaml": delegate(`  - match:
    - uri: {prefix: /api/beta}
    route:
    - destination: {host: api, subset: v2, port: {number: 8080}}
`)}
	code, out := runDiffPair(t, oldFiles, newFiles)
	want := "  GET http://shop.example.com/api/beta"
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "new  -> outbound|8080|v2|api.shop.svc.cluster.local (100)") {
		t.Errorf("exit %d, output lacks %q:\n%s", code, want, out)
	}
}

// TestDiffRev compares the working tree with a git revision.
func TestDiffRev(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"config/gateway.yaml": diffGateway, "config/shop.yaml": diffShop, "config/rules.yaml": diffRules})
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "commit", "-qm", "shop"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	t.Chdir(dir)
	var out, errb bytes.Buffer
	if code := run([]string{"diff", "--rev", "HEAD", "./config"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "no behaviour change") {
		t.Fatalf("unchanged: exit %d\n%s%s", code, out.String(), errb.String())
	}
	writeFile(t, filepath.Join(dir, "config/shop.yaml"), strings.Replace(diffShop, "prefix: /api", "prefix: /apis", 1))
	out.Reset()
	code := run([]string{"diff", "--rev", "HEAD", "./config"}, nil, &out, &errb)
	want := "    old  -> outbound|8080|v1|api.shop.svc.cluster.local (90), outbound|8080|v2|api.shop.svc.cluster.local (10)  by HEAD:config/shop.yaml:10:7 shop/shop http[0].match[0]\n" +
		"    new  -> outbound|8080||web.shop.svc.cluster.local (100)  by config/shop.yaml:16:5 shop/shop http[1]\n"
	if code != 1 || !strings.Contains(out.String(), want) {
		t.Errorf("exit %d, output lacks\n%s\ngot:\n%s%s", code, want, out.String(), errb.String())
	}
	if code := run([]string{"diff", "--rev", "no-such-rev", "./config"}, nil, &out, &errb); code != 2 {
		t.Errorf("unknown revision: exit %d", code)
	}
}
