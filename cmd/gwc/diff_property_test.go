package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
)

// TestDiffProperties runs gwc diff on generated mutations of one
// configuration (rules swapped, deleted, inserted, their path, header,
// weight or destination changed) and checks two properties against gwc
// explain, whose walk is separate from the one gwc diff uses:
//
//   - every request gwc diff reports as moved gets a different result
//     from gwc explain on OLD and on NEW;
//   - every sampled request (from a vocabulary of its own, not the
//     generator's) whose gwc explain result differs is covered by a
//     reported move between the same two rules.
func TestDiffProperties(t *testing.T) {
	base := []mRule{
		{name: "health", uriKind: "exact", uri: "/api/health", dests: []mDest{{"d", 100}}},
		{name: "canary", header: "yes", dests: []mDest{{"b", 100}}},
		{name: "api", uriKind: "prefix", uri: "/api", dests: []mDest{{"a", 90}, {"b", 10}}},
		{name: "re", uriKind: "regex", uri: "/re/[0-9]+", dests: []mDest{{"c", 100}}},
		{name: "post", method: "POST", dests: []mDest{{"c", 100}}},
		{name: "web", dests: []mDest{{"d", 100}}},
	}
	oldIR, oldRC := mutationTables(t, base)
	compiled, moves := 0, 0
	for i := range 40 {
		rng := rand.New(rand.NewPCG(23, uint64(i)))
		rules := mutateRules(rng, slices.Clone(base), i)
		if i%3 == 0 {
			rules = mutateRules(rng, rules, i+100)
		}
		newIR, newRC := mutationTables(t, rules)
		compiled++
		d := diffConfigs(oldRC, newRC)
		moves += len(d.Moved)
		for _, m := range d.Moved {
			req, _, _ := testHTTPRequest(m.probe.req)
			if explainResult(oldIR, oldRC, req) == explainResult(newIR, newRC, req) {
				t.Errorf("mutation %d: gwc diff reports %s as moved, gwc explain gives both:\n%s\nNEW rules: %v", i, m.Request, explainResult(oldIR, oldRC, req), rules)
			}
		}
		for _, r := range sampleRequests() {
			req, port, _ := testHTTPRequest(r)
			if explainResult(oldIR, oldRC, req) == explainResult(newIR, newRC, req) {
				continue
			}
			o, n := resolve(oldRC, req, port), resolve(newRC, req, port)
			if !slices.ContainsFunc(d.Moved, func(m moved) bool { return m.Old.Rule == o.Rule && m.New.Rule == n.Rule }) {
				t.Errorf("mutation %d: %s routes differently (%s by %s, now %s by %s), and gwc diff reports no move between those rules\nNEW rules: %v",
					i, describeTestRequest(r), o.summary(), o.Rule, n.summary(), n.Rule, rules)
			}
		}
	}
	if moves == 0 {
		t.Errorf("no mutation moved a request: the generator is broken")
	}
	t.Logf("%d mutations, %d moves reported", compiled, moves)
}

type mDest struct {
	host   string
	weight int
}

// mRule is one http rule of the generated VirtualService; an empty
// uriKind, header and method make a catch-all.
type mRule struct {
	name, uriKind, uri, header, method string
	dests                              []mDest
}

func (r mRule) String() string {
	return fmt.Sprintf("%s(%s %s %s %s -> %v)", r.name, r.uriKind, r.uri, r.header, r.method, r.dests)
}

var (
	mPrefixes = []string{"/", "/api", "/api/v2", "/static", "/login"}
	mExacts   = []string{"/api/health", "/login", "/api/v2/items"}
	mHosts    = []string{"a", "b", "c", "d"}
)

func mutateRules(rng *rand.Rand, rules []mRule, i int) []mRule {
	j := rng.IntN(len(rules))
	switch rng.IntN(7) {
	case 0: // swap two rules
		k := rng.IntN(len(rules))
		rules[j], rules[k] = rules[k], rules[j]
	case 1: // delete one
		if len(rules) > 1 {
			rules = slices.Delete(rules, j, j+1)
		}
	case 2, 3: // insert a new rule
		r := mRule{name: fmt.Sprintf("new%d", i), dests: []mDest{{mHosts[rng.IntN(len(mHosts))], 100}}}
		switch rng.IntN(4) {
		case 0:
			r.uriKind, r.uri = "prefix", mPrefixes[rng.IntN(len(mPrefixes))]
		case 1:
			r.uriKind, r.uri = "exact", mExacts[rng.IntN(len(mExacts))]
		case 2:
			r.header = []string{"yes", "no"}[rng.IntN(2)]
		case 3:
			r.method = "POST"
			r.uriKind, r.uri = "prefix", mPrefixes[rng.IntN(len(mPrefixes))]
		}
		rules = slices.Insert(rules, j, r)
	case 4: // change a path
		r := rules[j]
		r.uriKind, r.uri = "prefix", mPrefixes[rng.IntN(len(mPrefixes))]
		rules[j] = r
	case 5: // change the weights
		r := rules[j]
		w := 10 * (1 + rng.IntN(9))
		r.dests = []mDest{{"a", w}, {"b", 100 - w}}
		rules[j] = r
	case 6: // change the destination
		r := rules[j]
		r.dests = []mDest{{mHosts[rng.IntN(len(mHosts))], 100}}
		rules[j] = r
	}
	return rules
}

func mutationYAML(rules []mRule) string {
	var b strings.Builder
	b.WriteString(diffGateway + `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
`)
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n", r.name)
		var conds []string
		if r.uriKind != "" {
			conds = append(conds, fmt.Sprintf("uri: {%s: '%s'}", r.uriKind, r.uri))
		}
		if r.header != "" {
			conds = append(conds, fmt.Sprintf("headers: {x-canary: {exact: %s}}", r.header))
		}
		if r.method != "" {
			conds = append(conds, fmt.Sprintf("method: {exact: %s}", r.method))
		}
		if len(conds) > 0 {
			fmt.Fprintf(&b, "    match: [{%s}]\n", strings.Join(conds, ", "))
		}
		b.WriteString("    route:\n")
		for _, d := range r.dests {
			fmt.Fprintf(&b, "    - {destination: {host: %s, port: {number: 8080}}, weight: %d}\n", d.host, d.weight)
		}
	}
	return b.String()
}

func mutationTables(t *testing.T, rules []mRule) (*ir.Config, *runtime.Config) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "shop.yaml")
	writeFile(t, file, mutationYAML(rules))
	var errb bytes.Buffer
	irc, rc, _ := compiledTables([]string{file}, "default", &errb)
	if rc == nil {
		t.Fatalf("rules %v do not compile:\n%s", rules, errb.String())
	}
	return irc, rc
}

// explainResult is what gwc explain concludes about req: its result,
// location and upstream lines (not which rule, which a move within a
// file changes).
func explainResult(irc *ir.Config, rc *runtime.Config, req *http.Request) string {
	var b bytes.Buffer
	explain(&b, irc, rc, req)
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "result") || strings.HasPrefix(l, "location") || strings.HasPrefix(l, "upstream") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// sampleRequests are the property test's own requests: paths under,
// beside and between the rules' values, with and without the header,
// GET and POST.
func sampleRequests() []testRequest {
	var out []testRequest
	for _, p := range []string{"/", "/api", "/api/x", "/apix", "/api/v2", "/api/v2/items", "/api/v2/other", "/api/health",
		"/login", "/login/again", "/static/a.css", "/re/12", "/re/x", "/other"} {
		for _, h := range []string{"", "yes", "no"} {
			for _, m := range []string{"GET", "POST"} {
				r := testRequest{Method: m, Authority: "shop.example.com", Path: p}
				if h != "" {
					r.Headers = map[string]string{"x-canary": h}
				}
				out = append(out, r)
			}
		}
	}
	return out
}
