// Package sdk is what a gwc extension plugin imports: the types a plugin
// sees (Request, Response) and answers (Action), the Plugin interface, and
// Serve, which runs the plugin as a hashicorp/go-plugin gRPC server with
// gwc's versioned handshake. A plugin's main is one line:
//
//	func main() { sdk.Serve(&apiKey{}) }
//
// The ingress starts the plugin's executable once, hands it its
// pluginConfig (Configure), then calls OnRequest for every request the
// plugin's GatewayPlugin selects, with a per-call deadline in ctx, and
// OnResponse too when the plugin implements ResponsePlugin. Calls arrive
// concurrently: a plugin must be safe for concurrent use. Whatever the
// plugin writes to stderr goes to the ingress log under its name.
//
// The wire protocol (protocol.go) is a small gRPC service whose messages
// are JSON documents carried in google.protobuf.BytesValue, so neither side
// needs generated protobuf code.
package sdk
