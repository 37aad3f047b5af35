package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeMesh(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mesh.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMeshConfig(t *testing.T) {
	m, ds := LoadMeshConfig(writeMesh(t, `defaultProviders:
  tracing: [otel]
extensionProviders:
- name: otel
  opentelemetry:
    service: collector.observability.svc.cluster.local
    port: 4317
- name: authz
  envoyExtAuthzHttp:
    service: authz.default.svc.cluster.local
    port: 8000
    includeRequestHeadersInCheck: [x-token]
`))
	if ds.HasErrors() || m == nil {
		t.Fatalf("diags: %v", ds)
	}
	if got := m.DefaultProviders.Tracing; len(got) != 1 || got[0] != "otel" {
		t.Errorf("default tracing = %v", got)
	}
	p := m.Provider("otel")
	if p == nil || p.Kind != "opentelemetry" || p.Service != "collector.observability.svc.cluster.local" || p.Port != 4317 {
		t.Fatalf("otel provider = %+v", p)
	}
	a := m.Provider("authz")
	var spec struct {
		Headers []string `json:"includeRequestHeadersInCheck"`
	}
	if err := a.Decode(&spec); err != nil || len(spec.Headers) != 1 || spec.Headers[0] != "x-token" {
		t.Errorf("authz decode = %v, %v", spec, err)
	}
	if pos := m.PosOf(a.Field("port")); pos.Line != 11 || pos.Col != 11 {
		t.Errorf("position of authz port = %v, want line 11 col 11", pos)
	}
	if m.RootNamespace != "istio-system" {
		t.Errorf("root namespace = %q", m.RootNamespace)
	}
}

// The istio ConfigMap as kubectl prints it: positions are the file's.
func TestLoadMeshConfigFromConfigMap(t *testing.T) {
	m, ds := LoadMeshConfig(writeMesh(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    rootNamespace: mesh-root
    extensionProviders:
    - name: zipkin
      zipkin:
        service: zipkin.istio-system.svc.cluster.local
        port: 9411
`))
	if ds.HasErrors() || m == nil {
		t.Fatalf("diags: %v", ds)
	}
	p := m.Provider("zipkin")
	if p == nil || p.Kind != "zipkin" || p.Port != 9411 || m.RootNamespace != "mesh-root" {
		t.Fatalf("provider = %+v, root %q", p, m.RootNamespace)
	}
	if pos := m.PosOf(p.Field("port")); pos.Line != 13 || pos.Col != 15 {
		t.Errorf("position of port = %v, want line 13 col 15", pos)
	}
}

func TestLoadMeshConfigErrors(t *testing.T) {
	tests := []struct{ name, mesh, want string }{
		{"two kinds", "extensionProviders:\n- name: x\n  zipkin: {}\n  opentelemetry: {}\n", `:4:18: error GWC0320: MeshConfig: extensionProviders[0].opentelemetry: extension provider "x" sets 2 provider kinds`},
		{"unknown field", "extensionProviders:\n- name: x\n  zipkinn: {}\n", `:3:12: error GWC0320: MeshConfig: extensionProviders[0].zipkinn: unknown extension provider field "zipkinn"`},
		{"duplicate", "extensionProviders:\n- name: x\n  zipkin: {}\n- name: x\n  zipkin: {}\n", `:4:9: error GWC0320: MeshConfig: extensionProviders[1].name: extension provider "x" is defined twice`},
		{"bad port", "extensionProviders:\n- name: x\n  zipkin:\n    port: 70000\n", `:4:11: error GWC0320: MeshConfig: extensionProviders[0].zipkin.port: port 70000 is not a port number`},
		{"undefined default", "defaultProviders:\n  tracing: [nope]\n", `:2:13: error GWC0320: MeshConfig: defaultProviders.tracing[0]: default provider "nope" is not defined`},
		{"no name", "extensionProviders:\n- zipkin: {}\n", `extension provider has no name`},
		{"not yaml", "a: [\n", `parsing the mesh config`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ds := LoadMeshConfig(writeMesh(t, tt.mesh))
			if m != nil || !ds.HasErrors() {
				t.Fatalf("want an error, got %v %v", m, ds)
			}
			var all []string
			for _, d := range ds {
				all = append(all, d.String())
			}
			if s := strings.Join(all, "\n"); !strings.Contains(s, tt.want) {
				t.Errorf("diags:\n%s\nwant %q", s, tt.want)
			}
		})
	}
	if _, ds := LoadMeshConfig(filepath.Join(t.TempDir(), "absent.yaml")); !ds.HasErrors() {
		t.Error("a missing file is no error")
	}
}
