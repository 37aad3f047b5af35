// Command apikey is a gwc plugin that lets a request through only with a
// valid API key: the keys come from pluginConfig, the key is read from a
// header (x-api-key unless configured), and a request without a valid key
// is answered 401. The key header is removed before the request goes
// upstream; the key's name is passed on instead.
//
//	pluginConfig:
//	  header: x-api-key
//	  keys: {alice: k-123, bob: k-456}
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

type config struct {
	Header string            `json:"header"`
	Keys   map[string]string `json:"keys"` // name -> key
}

type apiKey struct{ cfg config }

func (p *apiKey) Configure(raw json.RawMessage) error {
	if err := json.Unmarshal(raw, &p.cfg); err != nil {
		return err
	}
	if p.cfg.Header == "" {
		p.cfg.Header = "x-api-key"
	}
	if len(p.cfg.Keys) == 0 {
		return errors.New("pluginConfig.keys is empty: no request could pass")
	}
	return nil
}

func (p *apiKey) OnRequest(_ context.Context, req *sdk.Request) sdk.Action {
	got := req.Header(p.cfg.Header)
	for name, key := range p.cfg.Keys {
		if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1 {
			a := sdk.Continue().SetHeader("x-api-key-name", name)
			a.RemoveHeaders = []string{p.cfg.Header}
			return a
		}
	}
	deny := sdk.Deny(http.StatusUnauthorized, "missing or invalid API key\n")
	return deny.SetHeader("WWW-Authenticate", `ApiKey header="`+p.cfg.Header+`"`)
}

func main() { sdk.Serve(&apiKey{}) }
