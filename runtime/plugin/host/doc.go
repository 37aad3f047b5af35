// Package host runs gwc's extension plugins inside the ingress: it starts
// each plugin executable with hashicorp/go-plugin after checking its
// sha256 (go-plugin's SecureConfig), speaks the handshake and gRPC
// protocol of package sdk, calls the hooks with a per-call deadline in
// the order the compiler fixed (phase, then priority), restarts a plugin
// that exits with exponential backoff, and applies its failStrategy while
// it is down or late. Generated code builds a Chain with New and sets it
// as Config.Plugins; the runtime package itself does not import this one.
package host
