package runtime

import (
	"log/slog"
	"net/http"
)

// Plugins is the chain of extension plugins (GatewayPlugin resources) of a
// config. Package runtime/plugin/host implements it; generated code sets
// Config.Plugins only when the configuration declares plugins, so an
// ingress without plugins links none of go-plugin and gRPC.
type Plugins interface {
	// Start starts every plugin process and configures it; Run calls it
	// before the listeners serve, so readiness waits for the plugins. An
	// error names the plugin and the reason, and the ingress does not
	// start.
	Start(log *slog.Logger) error
	// Request runs the request hooks of the plugins that select the
	// request (arrived on port, routed to route). It returns true when a
	// plugin (or its failStrategy) answered the request on w; otherwise
	// the request goes on, written through the returned writer, which
	// runs the response hooks.
	Request(w http.ResponseWriter, r *http.Request, port int, route string) (http.ResponseWriter, bool)
	// Stop stops the plugin processes; Run calls it after the drain.
	Stop()
}

// MarkPluginFailed records Envoy's response flag UAEX on the request served
// through w: a FAIL_CLOSE plugin that was down or late had it answered 503,
// as Envoy flags a request its ext_authz service failed. The access log
// (response_flags, response_code_details ext_authz_error) and the
// response_flags label of istio_requests_total show it. A plugin's deny or
// redirect is an ordinary local reply and carries no flag.
func MarkPluginFailed(w http.ResponseWriter) { markFlag(w, flagUAEX) }
