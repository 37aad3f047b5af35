package extauthz

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gwc-dev/gwc/runtime"
)

type grpcClient struct {
	conn  *grpc.ClientConn
	authz authv3.AuthorizationClient
}

// client makes the gRPC client on first use; grpc.NewClient dials lazily.
func (c *Client) client() (*grpcClient, error) {
	c.grpcOnce.Do(func() {
		conn, err := grpc.NewClient(c.spec.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			c.grpcErr = err
			return
		}
		c.grpc = &grpcClient{conn: conn, authz: authv3.NewAuthorizationClient(conn)}
	})
	return c.grpc, c.grpcErr
}

// checkGRPC asks an envoyExtAuthzGrpc provider with
// envoy.service.auth.v3.Authorization/Check.
func (c *Client) checkGRPC(w http.ResponseWriter, r *http.Request) bool {
	gc, err := c.client()
	if err != nil {
		return c.failed(w)
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.timeout())
	defer cancel()
	resp, err := gc.authz.Check(ctx, checkRequest(r))
	if err != nil {
		return c.failed(w)
	}
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		ok := resp.GetOkResponse()
		for _, name := range ok.GetHeadersToRemove() {
			r.Header.Del(name)
		}
		applyHeaders(r.Header, ok.GetHeaders())
		applyHeaders(w.Header(), ok.GetResponseHeadersToAdd())
		return true
	}
	denied := resp.GetDeniedResponse()
	status := int(denied.GetStatus().GetCode())
	if status == 0 {
		// Envoy answers 403 when the denial names no status.
		status = http.StatusForbidden
	}
	h := w.Header()
	applyHeaders(h, denied.GetHeaders())
	body := denied.GetBody()
	h["Server"] = []string{"istio-envoy"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	runtime.MarkExtAuthz(w, "ext_authz_denied")
	w.WriteHeader(status)
	w.Write([]byte(body))
	return false
}

// checkRequest is the AttributeContext Envoy sends: the peer and the
// gateway's addresses, and the HTTP request without its body.
func checkRequest(r *http.Request) *authv3.CheckRequest {
	headers := map[string]string{
		":authority": r.Host,
		":method":    r.Method,
		":path":      r.RequestURI,
	}
	for name, vs := range r.Header {
		headers[strings.ToLower(name)] = strings.Join(vs, ",")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: socketAddress(r.RemoteAddr)},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Now()),
			Http: &authv3.AttributeContext_HttpRequest{
				Id:       r.Header.Get("X-Request-Id"),
				Method:   r.Method,
				Headers:  headers,
				Path:     r.RequestURI,
				Host:     r.Host,
				Scheme:   scheme,
				Protocol: r.Proto,
				Size:     r.ContentLength,
			},
		},
	}}
}

func socketAddress(hostport string) *corev3.Address {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil
	}
	p, _ := strconv.Atoi(port)
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(p)},
	}}}
}

// applyHeaders sets or appends the headers of a check response, as Envoy
// applies them: append when the option says so, else overwrite.
func applyHeaders(h http.Header, opts []*corev3.HeaderValueOption) {
	for _, o := range opts {
		hv := o.GetHeader()
		if hv == nil || hv.GetKey() == "" {
			continue
		}
		v := hv.GetValue()
		if v == "" && len(hv.GetRawValue()) > 0 {
			v = string(hv.GetRawValue())
		}
		// In a check response append defaults to false: the value
		// replaces the header (ext_authz's OkHttpResponse.headers).
		if o.GetAppend().GetValue() {
			h.Add(hv.GetKey(), v)
		} else {
			h.Set(hv.GetKey(), v)
		}
	}
}
