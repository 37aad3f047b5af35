package codegen

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// Only a configuration with a CUSTOM AuthorizationPolicy imports the
// external authorizer, so only such a binary links Envoy's ext_authz
// protos; the runtime itself never depends on them. ALLOW, DENY and AUDIT
// are the runtime's own tables.
func TestExtAuthzLinkedOnlyWhenCustom(t *testing.T) {
	imports := func(files []File) bool {
		for _, f := range files {
			if bytes.Contains(f.Data, []byte(`"github.com/gwc-dev/gwc/runtime/extauthz"`)) {
				return true
			}
		}
		return false
	}
	if !imports(generateArchive(t, "authz_custom")) {
		t.Error("a config with a CUSTOM policy does not import runtime/extauthz")
	}
	if imports(generateArchive(t, "authz")) {
		t.Error("a config without a CUSTOM policy imports runtime/extauthz")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/gwc-dev/gwc/runtime").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(out), "github.com/envoyproxy/go-control-plane") {
		t.Error("package runtime depends on go-control-plane: every binary would link it")
	}
}
