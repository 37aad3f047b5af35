package codegen

import (
	"net"
	"strconv"

	"github.com/gwc-dev/gwc/compiler/ir"

	// The generated ingress imports the tracing package when a Telemetry
	// enables tracing. Importing it here also makes gwc depend on it, so
	// installing gwc puts the OpenTelemetry SDK in the module cache and
	// such a build needs no network.
	"github.com/gwc-dev/gwc/runtime/tracing"
)

// runtimeTracing returns the tracer of cfg, not started; nil without
// tracing, as the generated Config.
func runtimeTracing(cfg *ir.Config) *tracing.Tracer {
	t := cfg.Tracing
	if t == nil {
		return nil
	}
	s := tracing.Spec{Provider: t.Provider, Kind: t.Kind, HTTPPath: t.HTTPPath,
		SamplingPercent: t.SamplingPercent, DisableSpanReporting: t.DisableSpanReporting}
	if t.Service != "" {
		s.Endpoint = net.JoinHostPort(t.Service, strconv.Itoa(t.Port))
	}
	for _, c := range t.CustomTags {
		s.Tags = append(s.Tags, tracing.Tag{Name: c.Name, Kind: c.Kind, Value: c.Value, Default: c.Default})
	}
	for _, o := range t.Operations {
		s.Operations = append(s.Operations, tracing.Operation{Port: o.Port, Route: o.Route, Name: o.Operation})
	}
	return tracing.New(s)
}
