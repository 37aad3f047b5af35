package pathnorm

import "testing"

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, want string
		valid    bool
	}{
		// Already normal: returned as is.
		{"/", "/", true},
		{"/xyz", "/xyz", true},
		{"/x/y/z", "/x/y/z", true},
		{"/a//b/", "/a//b/", true}, // slashes are not merged
		{"/A/B/C", "/A/B/C", true},
		{"/a/.b/..c/...", "/a/.b/..c/...", true},
		{"/a/%2F%2f/c", "/a/%2F%2f/c", true},
		{"/%c0%af", "/%c0%af", true},
		{"/%5c%25", "/%5c%25", true},
		{"/a;b=c/d", "/a;b=c/d", true},
		{"/!$&'()*+,;=:@[]", "/!$&'()*+,;=:@[]", true},
		{"/50%", "/50%", true},
		{"/%zz", "/%zz", true},

		// Envoy's normalize_path cases (test/common/http/path_utility_test.cc).
		{"/a/b/../c", "/a/c", true},
		{"/a/b/./c", "/a/b/c", true},
		{"a/b/../c", "/a/c", true},
		{"/a/b/../../../../c", "/c", true},
		{"/a/..\\c", "/c", true},
		{"/a/b/%2E%2E/c", "/a/c", true},
		{"/a/b/%2e%2e/c", "/a/c", true},
		{"/a/b/%2E./c", "/a/c", true},
		{"/a/b/%2E/c", "/a/b/c", true},
		{"..", "/", true},
		{"/../a/b", "/a/b", true},
		{"/./a/b", "/a/b", true},
		{"/xyz/..;foo=bar/abc", "/abc", true},
		{"/..;foo=bar/abc", "/abc", true},
		{"/xyz/..;foo=bar", "/", true},
		{"/xyz/.;foo=bar/abc", "/xyz/abc", true},
		{"/.;foo=bar/abc", "/abc", true},
		{"/xyz/.;foo=bar", "/xyz/", true},
		{"/xyz/..;foo=bar/.;v1=2,v2=3/abc", "/abc", true},
		{"/..;foo=bar/abc/.;mmm", "/abc/", true},
		{"/xyz/..;foo=bar/.;fff=zzz", "/", true},
		{"/xyz/.foo", "/xyz/.foo", true},

		// Chromium's escaping rules.
		{"/%41%62%7e%2d%5F", "/Ab~-_", true},
		{"/a b", "/a%20b", true},
		{"/a\"<>`{|}^", "/a%22%3C%3E%60%7B%7C%7D%5E", true},
		{"/caf\xc3\xa9", "/caf%C3%A9", true},
		{"/a#b", "/a%23b", true},
		{"/a\\b", "/a/b", true},
		{"/a/", "/a/", true},
		{"/a/.", "/a/", true},
		{"/a/..", "/", true},
		{"/a/b/..", "/a/", true},
		{"", "/", true},
		{"/xyz/.%00../abc", "/xyz/.%00../abc", false},
		{"/xyz/%00.%00./abc", "/xyz/%00.%00./abc", false},
		{"/xyz/AAAAA%%0000/abc", "/xyz/AAAAA%%0000/abc", false},
	}
	for _, tt := range tests {
		got, valid := Normalize(tt.in)
		if got != tt.want || valid != tt.valid {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, valid, tt.want, tt.valid)
		}
		// Normalising is idempotent.
		if valid {
			if again, ok := Normalize(got); again != got || !ok {
				t.Errorf("Normalize(%q) = %q, not a fixed point (gives %q)", got, got, again)
			}
		}
	}
}

// A decode must not create a new escape that a second pass would decode:
// "%%30%30" would become "%00".
func TestNormalizeNestedEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/%%30%30", "/%2500"},
		{"/%%300", "/%2500"},
		{"/%3%30", "/%2530"},
		{"/%%41", "/%A"}, // "%A" is no escape, so the decoded A stays
	}
	for _, tt := range tests {
		got, _ := Normalize(tt.in)
		if got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again, _ := Normalize(got); again != got {
			t.Errorf("Normalize(%q) = %q, then %q: not a fixed point", tt.in, got, again)
		}
	}
}

func TestNormalizePathDoesNotAllocateWhenNormal(t *testing.T) {
	p := "/api/v1/users/%2Fx;y=z/index.html"
	allocs := testing.AllocsPerRun(100, func() {
		if got, ok := Normalize(p); !ok || got != p {
			t.Fatalf("Normalize(%q) = %q, %v", p, got, ok)
		}
	})
	if allocs != 0 {
		t.Errorf("Normalize allocates %v times on a normal path", allocs)
	}
}
