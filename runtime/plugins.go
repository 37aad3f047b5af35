package runtime

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
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

// PluginFailures is implemented by a Plugins that counts the requests its
// plugins' failStrategy decided; /stats/prometheus exports the counts as
// gwc_plugin_failures_total.
type PluginFailures interface {
	// Failures calls f for every plugin, in hook order, with its name, its
	// failStrategy (FAIL_OPEN or FAIL_CLOSE) and how many requests met it
	// down or late.
	Failures(f func(plugin, failStrategy string, requests uint64))
}

var pluginFailuresDesc = prometheus.NewDesc("gwc_plugin_failures_total",
	"Requests that met a GatewayPlugin down or late: let through (FAIL_OPEN) or answered 503 with flag UAEX (FAIL_CLOSE).",
	[]string{"plugin", "fail_strategy"}, nil)

// pluginCollector exports PluginFailures, read at each scrape.
type pluginCollector struct{ p PluginFailures }

func (c pluginCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pluginFailuresDesc }

func (c pluginCollector) Collect(ch chan<- prometheus.Metric) {
	c.p.Failures(func(plugin, strategy string, n uint64) {
		ch <- prometheus.MustNewConstMetric(pluginFailuresDesc, prometheus.CounterValue, float64(n), plugin, strategy)
	})
}

// registerPluginMetrics adds gwc_plugin_failures_total when cfg's plugins
// count their failures.
func registerPluginMetrics(reg *prometheus.Registry, cfg *Config) {
	if p, ok := cfg.Plugins.(PluginFailures); ok {
		reg.MustRegister(pluginCollector{p})
	}
}
