package load

import (
	"slices"
	"testing"
)

func TestPathRoundTrip(t *testing.T) {
	tests := []struct {
		text string
		path []seg
	}{
		{"", nil},
		{"spec", []seg{keySeg("spec")}},
		{"spec.http[0].route[12].destination.host", []seg{keySeg("spec"), keySeg("http"), idxSeg(0), keySeg("route"), idxSeg(12), keySeg("destination"), keySeg("host")}},
		{"spec.http[0].match[0].headers.x-user", []seg{keySeg("spec"), keySeg("http"), idxSeg(0), keySeg("match"), idxSeg(0), keySeg("headers"), keySeg("x-user")}},
		{`spec.selector["app.kubernetes.io/name"]`, []seg{keySeg("spec"), keySeg("selector"), keySeg("app.kubernetes.io/name")}},
		{`a["]"]["1"][2]`, []seg{keySeg("a"), keySeg("]"), keySeg("1"), idxSeg(2)}},
		{`m[""]`, []seg{keySeg("m"), keySeg("")}},
	}
	for _, tt := range tests {
		if got := formatPath(tt.path); got != tt.text {
			t.Errorf("formatPath(%v) = %q, want %q", tt.path, got, tt.text)
		}
		got, ok := parsePath(tt.text)
		if !ok || !slices.Equal(got, tt.path) {
			t.Errorf("parsePath(%q) = %v, %v; want %v", tt.text, got, ok, tt.path)
		}
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, s := range []string{".", "a.", ".a", "a[", "a[x]", "a[-1]", `a["x]`, `a["x"`, `a["x"]]`} {
		if p, ok := parsePath(s); ok {
			t.Errorf("parsePath(%q) = %v, want failure", s, p)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"hosts", "port", "tls", "bind", "name", "defaultEndpoint"}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"hots", "hosts", true},
		{"Hosts", "hosts", true},
		{"prot", "port", true},
		{"default_endpoint", "defaultEndpoint", true},
		{"tsl", "tls", true},
		{"certificate", "", false},
		{"x", "", false},
	}
	for _, tt := range tests {
		got, ok := closest(tt.in, known)
		if got != tt.want || ok != tt.ok {
			t.Errorf("closest(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
