package codegen

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
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
	for _, want := range []string{`"github.com/gwc-dev/gwc/runtime/plugin/host"`, "Plugins: host.New(", "Priority: -3", "FailOpen: true", "50000000, // 50ms"} {
		if !strings.Contains(src, want) {
			t.Errorf("config.go lacks %q:\n%s", want, src)
		}
	}
}
