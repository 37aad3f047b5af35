// Package tracing is the gateway's distributed tracing, linked into an
// ingress binary only when a Telemetry resource enables tracing: one
// span per request as Envoy makes it at an Istio gateway, the trace
// carried upstream in the provider's headers (W3C trace context for an
// opentelemetry provider, B3 for zipkin), spans exported with the
// OpenTelemetry SDK over OTLP (gRPC or HTTP) as the standard
// OTEL_EXPORTER_OTLP_* variables say.
//
// Files: tracing.go (Spec, the Tracer, spans and their attributes),
// propagate.go (reading and writing trace headers), export.go (the
// exporter from the environment and the bounded export queue).
package tracing
