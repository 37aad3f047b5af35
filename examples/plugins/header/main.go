// Command header is a gwc plugin that adds headers derived from the
// request: the client's IP address and the route the ingress chose go to
// the upstream, and the response carries the name the plugin was
// configured with.
//
//	pluginConfig:
//	  prefix: x-gwc-    # request headers x-gwc-client-ip, x-gwc-route
//	  via: edge-1       # response header x-gwc-via: edge-1
package main

import (
	"context"
	"encoding/json"
	"net"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

type config struct {
	Prefix string `json:"prefix"`
	Via    string `json:"via"`
}

type header struct{ cfg config }

func (p *header) Configure(raw json.RawMessage) error {
	if err := json.Unmarshal(raw, &p.cfg); err != nil {
		return err
	}
	if p.cfg.Prefix == "" {
		p.cfg.Prefix = "x-gwc-"
	}
	return nil
}

func (p *header) OnRequest(_ context.Context, req *sdk.Request) sdk.Action {
	ip, _, err := net.SplitHostPort(req.ClientAddr)
	if err != nil {
		ip = req.ClientAddr
	}
	return sdk.Continue().
		SetHeader(p.cfg.Prefix+"client-ip", ip).
		SetHeader(p.cfg.Prefix+"route", req.Route)
}

func (p *header) OnResponse(_ context.Context, _ *sdk.Request, _ *sdk.Response) sdk.Action {
	if p.cfg.Via == "" {
		return sdk.Continue()
	}
	return sdk.Continue().SetHeader(p.cfg.Prefix+"via", p.cfg.Via)
}

func main() { sdk.Serve(&header{}) }
