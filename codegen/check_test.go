package codegen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// TestGenerateChecksRouteTables: Generate runs on the tables the part of
// the runtime's Prepare that a generated binary leaves to the first
// requests, and refuses tables it rejects; what it accepts is marked
// Generated.
func TestGenerateChecksRouteTables(t *testing.T) {
	cfg := hostileConfig("x.example.com")
	files, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	marked := false
	for _, f := range files {
		if f.Name == "config.go" {
			marked = bytes.Contains(f.Data, []byte("\n\tGenerated: true,\n"))
		}
	}
	if !marked {
		t.Error("config.go does not mark the literal Generated")
	}

	bad := hostileConfig("x.example.com")
	bad.Listeners[0].VirtualHosts[0].Routes[0].Matches[0].Method = ir.StringMatch{Kind: "regex", Value: "GET("}
	_, err = Generate(bad)
	if err == nil || !strings.Contains(err.Error(), `checking the route tables: listener 0 (port 80): virtual host "a.example.com": route 0`) ||
		!strings.Contains(err.Error(), `compiling regex "GET("`) {
		t.Errorf("Generate of a route the runtime rejects: %v", err)
	}
	bad = hostileConfig("x.example.com")
	bad.Listeners[0].VirtualHosts[0].Routes[0].Destinations[0].Cluster = 5
	if _, err := Generate(bad); err == nil || !strings.Contains(err.Error(), "cluster index 5 out of range") {
		t.Errorf("Generate of a route to a missing cluster: %v", err)
	}
}
