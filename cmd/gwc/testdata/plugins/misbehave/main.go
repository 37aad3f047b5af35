// Command misbehave is a plugin for gwc's tests: it tags requests (to show
// hook order), and on request crashes or hangs. Built with
// -ldflags "-X main.protocol=2" it speaks another handshake version.
package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

var protocol = "1"

type config struct {
	Tag string `json:"tag"`
}

type misbehave struct{ cfg config }

func (p *misbehave) Configure(raw json.RawMessage) error {
	return json.Unmarshal(raw, &p.cfg)
}

// OnRequest appends the tag to x-order; x-misbehave: crash-<tag> exits the
// process with a panic, hang-<tag> sleeps past the deadline.
func (p *misbehave) OnRequest(_ context.Context, req *sdk.Request) sdk.Action {
	switch req.Header("x-misbehave") {
	case "crash-" + p.cfg.Tag:
		panic("crashing on purpose")
	case "hang-" + p.cfg.Tag:
		// Past any deadline: a plugin that answers just in time is not
		// hanging.
		time.Sleep(2 * time.Second)
	}
	order := req.Header("x-order")
	if order != "" {
		order += ","
	}
	return sdk.Continue().SetHeader("x-order", order+p.cfg.Tag)
}

func main() {
	v, _ := strconv.Atoi(protocol)
	hs := sdk.Handshake
	hs.ProtocolVersion = uint(v)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         goplugin.PluginSet{sdk.PluginName: &sdk.GRPCPlugin{Impl: &misbehave{}}},
		GRPCServer:      goplugin.DefaultGRPCServer,
	})
}
