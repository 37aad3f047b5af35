package load

import (
	"os"
	"path/filepath"
	"testing"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
)

const webVS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: webapp
spec:
  hosts: [web.example.com]
  http:
  - match:
    - headers:
        x-user: {exact: a}
    route:
    - destination:
        host: webapp
        port: {number: 8080}
`

func loadOne(t *testing.T, name, src string, opts Options) *Resource {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	res := Load([]string{name}, opts)
	if len(res.Diags) != 0 {
		t.Fatalf("diagnostics: %v", res.Diags)
	}
	if len(res.Resources) != 1 {
		t.Fatalf("got %d resources, want 1", len(res.Resources))
	}
	return res.Resources[0]
}

func TestResourcePosOf(t *testing.T) {
	r := loadOne(t, "vs.yaml", webVS, Options{Namespace: "istioinaction"})
	if want := (diag.Pos{File: "vs.yaml", Line: 1, Col: 1}); r.Pos != want {
		t.Errorf("Pos = %v, want %v", r.Pos, want)
	}
	tests := []struct {
		path string
		want diag.Pos
	}{
		{"spec.http[0].route[0].destination.host", diag.Pos{File: "vs.yaml", Line: 13, Col: 15}},
		{"spec.http[0].route[0].destination.port.number", diag.Pos{File: "vs.yaml", Line: 14, Col: 24}},
		{"spec.http[0].match[0].headers.x-user.exact", diag.Pos{File: "vs.yaml", Line: 10, Col: 25}},
		{`spec.http[0].match[0].headers["x-user"]`, diag.Pos{File: "vs.yaml", Line: 10, Col: 17}},
		{"spec.hosts[0]", diag.Pos{File: "vs.yaml", Line: 6, Col: 11}},
		// Absent: the nearest parent that exists.
		{"spec.http[0].route[0].destination.subset", diag.Pos{File: "vs.yaml", Line: 13, Col: 9}},
		{"spec.http[0].timeout", diag.Pos{File: "vs.yaml", Line: 8, Col: 5}},
		{"spec.tcp[3].route", diag.Pos{File: "vs.yaml", Line: 6, Col: 3}},
		{"metadata.namespace", diag.Pos{File: "vs.yaml", Line: 4, Col: 3}},
		// Not a path: the document.
		{"spec..http", r.Pos},
		{"", r.Pos},
	}
	for _, tt := range tests {
		if got := r.PosOf(tt.path); got != tt.want {
			t.Errorf("PosOf(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestResourceValue(t *testing.T) {
	r := loadOne(t, "vs.yaml", webVS, Options{Namespace: "istioinaction"})
	if got, want := r.ID(), "VirtualService istioinaction/webapp"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
	if r.APIVersion != "networking.istio.io/v1" || r.Kind != "VirtualService" || r.Name != "webapp" || r.File != "vs.yaml" {
		t.Errorf("resource = %+v", r)
	}
	if err := r.Value.Validate(cue.Concrete(true)); err != nil {
		t.Errorf("Value is not concrete: %v", err)
	}
	ns, err := r.Value.LookupPath(cue.ParsePath("metadata.namespace")).String()
	if err != nil || ns != "istioinaction" {
		t.Errorf("metadata.namespace = %q, %v; want the default filled in", ns, err)
	}
	var spec struct {
		Hosts []string
		HTTP  []struct {
			Route []struct {
				Destination struct {
					Host string
					Port struct{ Number int }
				}
			}
		} `json:"http"`
	}
	if err := r.Value.LookupPath(cue.ParsePath("spec")).Decode(&spec); err != nil {
		t.Fatalf("decoding spec: %v", err)
	}
	if d := spec.HTTP[0].Route[0].Destination; d.Host != "webapp" || d.Port.Number != 8080 || spec.Hosts[0] != "web.example.com" {
		t.Errorf("decoded spec = %+v", spec)
	}
}

func TestResourceDefaultNamespace(t *testing.T) {
	r := loadOne(t, "vs.yaml", webVS, Options{})
	if r.Namespace != "default" {
		t.Errorf("Namespace = %q, want default", r.Namespace)
	}
}

func TestIDUnnamed(t *testing.T) {
	r := &Resource{Kind: "Gateway", Namespace: "default"}
	if got, want := r.ID(), "Gateway default/(unnamed)"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
}
