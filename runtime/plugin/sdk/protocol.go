package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ProtocolVersion is the version of the plugin protocol; the ingress and
// the plugin must agree on it, or the ingress refuses to start.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake both sides use. The cookie keeps a
// plugin executable from being run by hand by mistake.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "GWC_PLUGIN",
	MagicCookieValue: "extension-filter",
}

// PluginName is the name the filter is dispensed under.
const PluginName = "filter"

const serviceName = "gwc.plugin.v1.Filter"

// ConfigureReply tells the host what the plugin implements.
type ConfigureReply struct {
	Response bool `json:"response"`
}

// ResponseCall is the argument of the response hook.
type ResponseCall struct {
	Request  *Request  `json:"request"`
	Response *Response `json:"response"`
}

// GRPCPlugin connects a Plugin to go-plugin: the plugin side serves Impl,
// the host side gets a *Client. It is exported for the host package.
type GRPCPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Impl Plugin
}

// GRPCServer registers the filter service.
func (p *GRPCPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a *Client over conn.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{conn: conn}, nil
}

type server struct{ impl Plugin }

func (s *server) configure(_ context.Context, in []byte) (any, error) {
	if err := s.impl.Configure(json.RawMessage(in)); err != nil {
		return nil, err
	}
	_, ok := s.impl.(ResponsePlugin)
	return ConfigureReply{Response: ok}, nil
}

func (s *server) onRequest(ctx context.Context, in []byte) (any, error) {
	var req Request
	if err := json.Unmarshal(in, &req); err != nil {
		return nil, fmt.Errorf("decoding request: %w", err)
	}
	return s.impl.OnRequest(ctx, &req), nil
}

func (s *server) onResponse(ctx context.Context, in []byte) (any, error) {
	rp, ok := s.impl.(ResponsePlugin)
	if !ok {
		return Continue(), nil
	}
	var call ResponseCall
	if err := json.Unmarshal(in, &call); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if call.Request == nil {
		call.Request = &Request{}
	}
	if call.Response == nil {
		call.Response = &Response{}
	}
	return rp.OnResponse(ctx, call.Request, call.Response), nil
}

// unary adapts a JSON-in, JSON-out method to a gRPC handler over
// BytesValue.
func unary(name string, call func(*server, context.Context, []byte) (any, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			out, err := call(srv.(*server), ctx, in.GetValue())
			if err != nil {
				return nil, err
			}
			data, err := json.Marshal(out)
			if err != nil {
				return nil, err
			}
			return wrapperspb.Bytes(data), nil
		},
	}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary("Configure", (*server).configure),
		unary("OnRequest", (*server).onRequest),
		unary("OnResponse", (*server).onResponse),
	},
}

// Client calls a plugin; the host package uses it.
type Client struct{ conn *grpc.ClientConn }

func (c *Client) invoke(ctx context.Context, method string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	reply := new(wrapperspb.BytesValue)
	if err := c.conn.Invoke(ctx, "/"+serviceName+"/"+method, wrapperspb.Bytes(data), reply); err != nil {
		return err
	}
	if err := json.Unmarshal(reply.GetValue(), out); err != nil {
		return fmt.Errorf("decoding the plugin's reply: %w", err)
	}
	return nil
}

// Configure hands the plugin its configuration (JSON).
func (c *Client) Configure(ctx context.Context, config json.RawMessage) (ConfigureReply, error) {
	var out ConfigureReply
	if len(config) == 0 {
		config = json.RawMessage("null")
	}
	// json.RawMessage marshals as itself.
	err := c.invoke(ctx, "Configure", config, &out)
	return out, err
}

// OnRequest calls the request hook.
func (c *Client) OnRequest(ctx context.Context, req *Request) (Action, error) {
	var out Action
	err := c.invoke(ctx, "OnRequest", req, &out)
	return out, err
}

// OnResponse calls the response hook.
func (c *Client) OnResponse(ctx context.Context, req *Request, resp *Response) (Action, error) {
	var out Action
	err := c.invoke(ctx, "OnResponse", ResponseCall{Request: req, Response: resp}, &out)
	return out, err
}
