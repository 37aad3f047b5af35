package load

import "github.com/gwc-dev/gwc/schema"

// apiGroup is one API group gwc reads.
type apiGroup struct {
	// versions are the served versions, newest first.
	versions []string
	// kinds are the kinds gwc compiles, each with its schema definition.
	kinds []string
	// unused are the group's other kinds that mean nothing to a gateway:
	// skipped with a warning.
	unused []string
	// notEnforced are kinds gwc does not apply, with what to do instead.
	// Skipping them would fail open (an AuthorizationPolicy with action
	// DENY would deny nothing), so each is a compile error.
	notEnforced map[string]string
	// about names what the group's compiled kinds are, for hints.
	about string
}

// groups are the API groups gwc reads; documents of any other group are
// skipped with a note.
var groups = map[string]*apiGroup{
	"networking.istio.io": {
		versions: []string{"v1", "v1beta1", "v1alpha3"},
		kinds:    schema.Kinds,
		unused:   []string{"Sidecar", "EnvoyFilter", "WorkloadEntry", "WorkloadGroup", "ProxyConfig"},
		about:    "gwc compiles Gateway, VirtualService, ServiceEntry and DestinationRule",
	},
	// gwc's own group: kinds Istio has no executable form of (GatewayPlugin,
	// modelled on WasmPlugin).
	"extensions.gwc.dev": {
		versions: []string{"v1alpha1"},
		kinds:    schema.ExtensionKinds,
		about:    "gwc's own group defines GatewayPlugin",
	},
	"security.istio.io": {
		versions: []string{"v1", "v1beta1"},
		kinds:    schema.SecurityKinds,
		notEnforced: map[string]string{
			"PeerAuthentication": "PeerAuthentication sets mutual TLS between sidecars, which a standalone gateway has no mesh identity for; set tls.mode MUTUAL on the Gateway's server to require client certificates",
		},
		about: "security.istio.io defines RequestAuthentication, AuthorizationPolicy and PeerAuthentication; gwc compiles RequestAuthentication and AuthorizationPolicy",
	},
	"telemetry.istio.io": {
		versions: []string{"v1", "v1alpha1"},
		kinds:    schema.TelemetryKinds,
		about:    "telemetry.istio.io defines Telemetry: gwc compiles its tracing",
	},
}
