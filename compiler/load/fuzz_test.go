package load

import (
	"strings"
	"testing"

	"cuelang.org/go/cue"
)

// FuzzLoadYAML feeds arbitrary bytes to the YAML path: loading must never
// panic, every diagnostic must point into the file, and every resource
// returned must be valid. Seeds: testdata/fuzz/FuzzLoadYAML and below.
func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte(webVS))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.istio.io/v1\n  kind: Gateway\n  metadata: {name: gw}\n  spec: {servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]}\n"))
	f.Add([]byte("a: &x {b: *x}\n---\n- [1, 2\n---\nkind: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader(Options{})
		l.loadFile("fuzz.yaml", data)
		for _, d := range l.res.Diags {
			if strings.Contains(d.Message, "internal error") {
				t.Fatalf("%s", d)
			}
			if d.Pos.File != "fuzz.yaml" {
				t.Errorf("diagnostic outside the file: %s", d)
			}
		}
		for _, r := range l.res.Resources {
			if err := r.Value.Validate(cue.Concrete(true)); err != nil {
				t.Errorf("%s returned with an error: %v", r.ID(), err)
			}
			if p := r.PosOf("spec.http[0].route[0].destination.host"); p.File != "fuzz.yaml" {
				t.Errorf("%s: PosOf outside the file: %v", r.ID(), p)
			}
		}
	})
}
