package sdk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

// blockAdmin denies paths under a configured prefix and tags the rest.
type blockAdmin struct {
	Prefix string `json:"prefix"`
}

func (p *blockAdmin) Configure(config json.RawMessage) error {
	return json.Unmarshal(config, p)
}

func (p *blockAdmin) OnRequest(_ context.Context, req *sdk.Request) sdk.Action {
	if strings.HasPrefix(req.Path, p.Prefix) {
		return sdk.Deny(http.StatusForbidden, "not here\n")
	}
	return sdk.Continue().SetHeader("x-checked-by", "block-admin")
}

// A whole plugin: a type implementing sdk.Plugin, and a main that serves
// it. Build it with go build, and declare it with a GatewayPlugin whose
// pluginConfig is {prefix: /admin}.
func Example() {
	// func main() {
	sdk.Serve(&blockAdmin{})
	// }
}
