package sdk

import (
	goplugin "github.com/hashicorp/go-plugin"
)

// Serve runs p as a gwc plugin until the ingress stops it. Run by hand
// (without the handshake cookie in its environment) it prints a note and
// exits with status 1: plugins are started by the ingress.
func Serve(p Plugin) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{PluginName: &GRPCPlugin{Impl: p}},
		GRPCServer:      goplugin.DefaultGRPCServer,
	})
}
