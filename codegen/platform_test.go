package codegen

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestParsePlatforms(t *testing.T) {
	ps, err := ParsePlatforms("linux/amd64, linux/arm64,linux/arm/v7")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", "linux", "linux/", "a/b/c/d", "linux/arm/v9", "linux/amd64,linux/amd64"} {
		if _, err := ParsePlatforms(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A platform fixes GOOS, GOARCH and the variant whatever the user's
// environment says, so the same platform always gives the same binary.
func TestPlatformEnv(t *testing.T) {
	env, err := platformEnv([]string{"HOME=/h", "GOOS=windows", "GOAMD64=v3", "GOARM=5"}, Platform{OS: "linux", Arch: "arm", Variant: "v7"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"HOME=/h", "GOOS=linux", "GOARCH=arm", "GOARM=7"}; !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
}

func TestCheckPlatforms(t *testing.T) {
	if err := CheckPlatforms(context.Background(), []Platform{{OS: "linux", Arch: "arm64"}}); err != nil {
		t.Errorf("linux/arm64: %v", err)
	}
	err := CheckPlatforms(context.Background(), []Platform{{OS: "linux", Arch: "sparc99"}})
	if err == nil || !strings.Contains(err.Error(), "Go cannot build for linux/sparc99") {
		t.Errorf("linux/sparc99: %v", err)
	}
}
