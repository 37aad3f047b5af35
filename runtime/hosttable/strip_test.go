package hosttable

import "testing"

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"example.com":             "example.com",
		"example.com:80":          "example.com",
		"example.com:":            "example.com",
		"Example.COM:8080":        "Example.COM",
		"example.com:http":        "example.com:http",
		"10.0.0.1:443":            "10.0.0.1",
		"[::1]":                   "[::1]",
		"[::1]:8080":              "[::1]",
		"[2001:db8::1]:443":       "[2001:db8::1]",
		"[2001:db8::1]":           "[2001:db8::1]",
		"[::1":                    "[::1",
		"[::1]junk":               "[::1]junk",
		"[::1]:":                  "[::1]",
		"[::1]:x":                 "[::1]:x",
		"[::":                     "[::",
		"[":                       "[",
		":":                       "",
		"8080":                    "8080",
		":80":                     "",
		"a:1:2":                   "a:1",
		"example.com.:8443":       "example.com.",
		"xn--bcher-kva.example:1": "xn--bcher-kva.example",
	} {
		if got := stripPort(in); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", in, got, want)
		}
	}
}
