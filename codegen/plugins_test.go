package codegen

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime/plugin/host"
)

// TestPluginsImportOnlyWhenDeclared: an ingress without GatewayPlugins must
// not link the plugin host (go-plugin, gRPC); one with plugins gets valid
// Go with every hostile string quoted.
func TestPluginsImportOnlyWhenDeclared(t *testing.T) {
	configSource := func(cfg *ir.Config) string {
		files, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name == "config.go" {
				if _, err := parser.ParseFile(token.NewFileSet(), f.Name, f.Data, 0); err != nil {
					t.Fatalf("config.go does not parse: %v\n%s", err, f.Data)
				}
				return string(f.Data)
			}
		}
		t.Fatal("no config.go")
		return ""
	}
	cfg := hostileConfig("x.example.com")
	if src := configSource(cfg); strings.Contains(src, "plugin/host") || strings.Contains(src, "Plugins:") {
		t.Errorf("config without plugins mentions the plugin host:\n%s", src)
	}
	s := "\"\n*/`x\\"
	cfg.Plugins = []ir.Plugin{{
		Origin: ir.Origin{Pos: diag.Pos{File: s, Line: 1, Col: 1}, Resource: s},
		Name:   s, Path: "/p" + s, SHA256: "ab", Phase: "AUTHN", Priority: -3,
		Config: `{"k":"` + s + `"}`, FailOpen: true, Timeout: 50 * time.Millisecond,
		Matches: []ir.PluginMatch{{Ports: []int{80, 81}, Hosts: []string{s}, Routes: []string{s}}},
	}}
	src := configSource(cfg)
	for _, want := range []string{`"github.com/gwc-dev/gwc/runtime/plugin/host"`, "Plugins: host.New(", "Priority: -3", "FailOpen: true", "Timeout:  50 * time.Millisecond"} {
		if !strings.Contains(src, want) {
			t.Errorf("config.go lacks %q:\n%s", want, src)
		}
	}
}

// TestRuntimeConfigPlugins: gwc routes and explain read the plugin chain
// from RuntimeConfig, built by pluginSpec as the literal is; a config
// without plugins has a nil Plugins, as the generated one.
func TestRuntimeConfigPlugins(t *testing.T) {
	cfg := hostileConfig("x.example.com")
	rc, err := RuntimeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Plugins != nil {
		t.Errorf("Plugins = %#v without GatewayPlugins, want nil", rc.Plugins)
	}
	cfg.Plugins = []ir.Plugin{
		{Name: "shop/a", Path: "/p/a", Phase: "AUTHN", Priority: 3, Config: `{"k":1}`, Timeout: 50 * time.Millisecond,
			Matches: []ir.PluginMatch{{Ports: []int{80}, Hosts: []string{"*.example.com"}, Routes: []string{"r"}}}},
		{Name: "shop/b", Path: "/p/b", FailOpen: true},
	}
	rc, err = RuntimeConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chain, ok := rc.Plugins.(*host.Chain)
	if !ok {
		t.Fatalf("Plugins = %T, want *host.Chain", rc.Plugins)
	}
	got := chain.Specs()
	want := []host.Spec{
		{Name: "shop/a", Path: "/p/a", Phase: "AUTHN", Priority: 3, Config: json.RawMessage(`{"k":1}`), Timeout: 50 * time.Millisecond,
			Matches: []host.Match{{Ports: []int{80}, Hosts: []string{"*.example.com"}, Routes: []string{"r"}}}},
		{Name: "shop/b", Path: "/p/b", FailOpen: true, Timeout: host.DefaultTimeout},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("specs:\n got %+v\nwant %+v", got, want)
	}
	if !got[0].Selects(80, "a.example.com:80", "r") || got[0].Selects(443, "a.example.com", "r") {
		t.Error("spec a selects wrongly")
	}
}
