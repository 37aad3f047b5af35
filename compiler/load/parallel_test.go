package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// corpus returns directories holding every input of gwc's tests: the
// archives of the loader's, the compiler's and the command's tests, each
// written to a directory of its own, the examples, the schema's test
// files, and a large file mixing every kind of document with errors.
func corpus(t *testing.T) []string {
	t.Helper()
	root := t.TempDir()
	var dirs []string
	for _, pattern := range []string{"testdata/*.txtar", "../testdata/*.txtar", "../../cmd/gwc/testdata/script/*.txtar"} {
		pattern, err := filepath.Abs(pattern)
		if err != nil {
			t.Fatal(err)
		}
		archives, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if len(archives) == 0 {
			t.Fatalf("no archives match %s", pattern)
		}
		for _, a := range archives {
			ar, err := txtar.ParseFile(a)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, strings.NewReplacer("/", "_", ".", "_").Replace(a))
			for _, f := range ar.Files {
				if !supported(f.Name) || strings.Contains(f.Name, "..") || filepath.IsAbs(f.Name) {
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
			if _, err := os.Stat(dir); err == nil {
				dirs = append(dirs, dir)
			}
		}
	}
	mixed := filepath.Join(root, "mixed")
	if err := os.MkdirAll(mixed, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"a.yaml": mixedYAML(120),
		// Between the YAML files: a CUE file, validated in the loader's
		// own context, and JSON documents, queued like YAML ones.
		"b.cue":  "gw: {apiVersion: \"networking.istio.io/v1\", kind: \"Gateway\", metadata: {name: \"from-cue\", namespace: \"m\"}, spec: servers: [{port: {number: 81, name: \"http\", protocol: \"HTTP\"}, hosts: [\"*\"]}]}\n",
		"c.json": `{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "vs-1", "namespace": "m"}, "spec": {"hosts": ["dup.example.com"]}}` + "\n" + `{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "json-2", "namespace": "m"}, "spec": {"hosts": [3]}}`,
		"d.yaml": mixedYAML(70),
		"e.json": `{"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "broken"`,
		// Documents queued, then dropped when the file turns out not to
		// parse, then read one by one.
		"f.yaml": mixedYAML(30) + "---\nkey: [unclosed\n---\n" + mixedYAML(3),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(mixed, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"../../examples", "../../schema/testdata"} {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, abs)
	}
	return append(dirs, mixed)
}

// mixedYAML is n documents of every sort: valid, invalid, duplicated,
// lists, keys set twice, other kinds and groups, empty documents.
func mixedYAML(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("---\n")
		switch i % 10 {
		case 0, 1, 2:
			fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs-%d\n  namespace: m\nspec:\n  hosts: [h%d.example.com]\n  gateways: [gw]\n  http:\n  - match:\n    - uri: {prefix: /a/}\n    route:\n    - destination: {host: backend, port: {number: 8080}}\n", i, i)
		case 3:
			// A duplicate of an earlier resource.
			fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs-%d, namespace: m}\nspec: {hosts: [again.example.com]}\n", i-3)
		case 4:
			fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad-%d, namespace: m}\nspec:\n  hosts: [\"Bad Host\"]\n  http:\n  - match: [{uri: {exact: /a, prefix: /b}}]\n    route: [{destination: {port: {number: 99999}}}]\n    timout: 3s\n", i)
		case 5:
			fmt.Fprintf(&b, "apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.istio.io/v1\n  kind: ServiceEntry\n  metadata: {name: se-%d, namespace: m}\n  spec: {hosts: [se%d.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n- apiVersion: networking.istio.io/v1\n  kind: DestinationRule\n  metadata: {name: dr-%d, namespace: m}\n  spec: {host: se%d.example.com, trafficPolicy: {tls: {mode: SIMPLY}}}\n", i, i, i, i)
		case 6:
			fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw-%d, namespace: m}\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n    hosts: [twice]\n", i)
		case 7:
			fmt.Fprintf(&b, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d-%d}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s-%d}\n", i, i)
		case 8:
			b.WriteString("\n")
		case 9:
			fmt.Fprintf(&b, "apiVersion: networking.istio.io/v1\nkind: VirtualServce\nmetadata: {name: typo-%d}\n---\n- just a list\n", i)
		}
	}
	return b.String()
}

// snapshot renders everything Load returned that a later step can see.
func snapshot(t *testing.T, res Result) string {
	t.Helper()
	var b strings.Builder
	for _, d := range res.Diags {
		fmt.Fprintf(&b, "diag %#v\n", d)
	}
	for _, set := range []struct {
		name string
		rs   []*Resource
	}{{"resource", res.Resources}, {"rejected", res.Rejected}} {
		for _, r := range set.rs {
			spec, serr := r.SpecJSON()
			fmt.Fprintf(&b, "%s %s %s %s %v\nspec %s %v\n", set.name, r.APIVersion, r.ID(), r.File, r.Pos, spec, serr)
			if set.name == "resource" {
				js, jerr := r.JSON()
				fmt.Fprintf(&b, "json %s %v\n", js, jerr)
			}
			fmt.Fprintf(&b, "value %s\n", valueData(t, r))
			fmt.Fprintf(&b, "index %v\n", r.index)
		}
	}
	return b.String()
}

// valueData is the data of a resource's Value, its fields in a fixed
// order.
func valueData(t *testing.T, r *Resource) string {
	t.Helper()
	js, err := r.Value.MarshalJSON()
	if err != nil {
		return "error: " + err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: decoding the JSON of Value: %v", r.ID(), err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func loadIn(t *testing.T, dir string) Result {
	t.Helper()
	t.Chdir(dir)
	return Load([]string{"."}, Options{Namespace: "ns"})
}

// TestParallelLoadIsSequentialLoad: validating documents on several
// workers gives exactly what validating them one by one gives, on every
// input of gwc's tests.
func TestParallelLoadIsSequentialLoad(t *testing.T) {
	defer func(n int, c func() int) { minParallelDocs, cpus = n, c }(minParallelDocs, cpus)
	docs := 0
	for _, dir := range corpus(t) {
		minParallelDocs, cpus = 1<<30, func() int { return 1 }
		one := loadIn(t, dir)
		minParallelDocs, cpus = 1, func() int { return 4 }
		four := loadIn(t, dir)
		docs += len(one.Resources) + len(one.Rejected)
		if a, b := snapshot(t, one), snapshot(t, four); a != b {
			t.Errorf("%s: loading on 4 workers differs from loading on 1\n--- 1 worker\n%s--- 4 workers\n%s", dir, a, b)
		}
	}
	if docs < 200 {
		t.Errorf("the corpus holds %d resources; expected more than 200", docs)
	}
}

// TestValueIsUnifiedData: the document kept as Value holds the data of
// the unified value, and JSON is the unified value's.
func TestValueIsUnifiedData(t *testing.T) {
	defer func() { keepUnified = false }()
	for _, dir := range corpus(t) {
		keepUnified = true
		unified := loadIn(t, dir)
		keepUnified = false
		doc := loadIn(t, dir)
		if len(unified.Resources) != len(doc.Resources) {
			t.Fatalf("%s: %d resources with unified values, %d without", dir, len(unified.Resources), len(doc.Resources))
		}
		for i, u := range unified.Resources {
			d := doc.Resources[i]
			want, werr := u.Value.MarshalJSON()
			got, gerr := d.JSON()
			if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
				t.Errorf("%s: JSON() = %s, %v\nunified MarshalJSON() = %s, %v", d.ID(), got, gerr, want, werr)
			}
			if a, b := valueData(t, u), valueData(t, d); a != b {
				t.Errorf("%s: Value holds\n%s\nthe unified value\n%s", d.ID(), b, a)
			}
			if !reflect.DeepEqual(u.index, d.index) {
				t.Errorf("%s: positions differ", d.ID())
			}
		}
	}
}

// TestRequiredOnlyAfterErrors: looking for absent required fields in
// documents CUE accepts finds nothing, on every input of gwc's tests.
func TestRequiredOnlyAfterErrors(t *testing.T) {
	defer func() { alwaysRequired = false }()
	for _, dir := range corpus(t) {
		alwaysRequired = true
		always := loadIn(t, dir)
		alwaysRequired = false
		after := loadIn(t, dir)
		if a, b := snapshot(t, always), snapshot(t, after); a != b {
			t.Errorf("%s: looking for required fields only after CUE's errors changes the result\n--- always\n%s--- after errors\n%s", dir, a, b)
		}
	}
}

// TestSyntaxIndexIsValueIndex: positions read from a document's syntax
// tree are those read from its CUE value, on every input of gwc's tests.
func TestSyntaxIndexIsValueIndex(t *testing.T) {
	defer func() { cueIndex = false }()
	for _, dir := range corpus(t) {
		cueIndex = true
		value := loadIn(t, dir)
		cueIndex = false
		syntax := loadIn(t, dir)
		if a, b := snapshot(t, value), snapshot(t, syntax); a != b {
			t.Errorf("%s: positions from the syntax tree differ\n--- from the value\n%s--- from the syntax tree\n%s", dir, a, b)
		}
	}
}
