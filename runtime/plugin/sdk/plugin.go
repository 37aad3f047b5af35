package sdk

import (
	"context"
	"encoding/json"
)

// Plugin is an extension filter. Configure is called once, before any
// request, with the GatewayPlugin's pluginConfig as JSON ("null" when
// absent); an error stops the ingress from starting, with the message.
// OnRequest is called for each selected request; ctx carries the per-call
// deadline.
type Plugin interface {
	Configure(config json.RawMessage) error
	OnRequest(ctx context.Context, req *Request) Action
}

// ResponsePlugin is a Plugin that also sees responses. Only continue
// (with response header mutations) is honoured on the response path: the
// response has started by then.
type ResponsePlugin interface {
	Plugin
	OnResponse(ctx context.Context, req *Request, resp *Response) Action
}
