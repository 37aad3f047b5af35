// Package compiler turns loaded, validated Istio resources into the IR:
// it decodes the typed model, resolves names (gateways, short hosts),
// binds VirtualService hosts to Gateway servers as istiod does, orders
// routes and resolves destinations to clusters. Problems are reported as
// positioned diagnostics, all of them in one run.
//
// Run (run.go) is the whole pipeline, load -> validate -> analyze ->
// compile, and the one entry point of the commands and the tests; Compile
// is its last stage.
package compiler

import (
	"cmp"
	"slices"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// compilation holds the state of one Compile call.
type compilation struct {
	diags       diag.List
	gateways    map[string]*gateway // by "namespace/name"
	vss         []*virtualService   // sorted by namespace, name
	ses         []*serviceEntry     // sorted by namespace, name
	drs         []*destinationRule  // sorted by namespace, name
	plugins     []*gatewayPlugin    // in input order; plugins.go orders them
	telemetries []*telemetry        // sorted by namespace, name
	mesh        *MeshConfig         // nil without --mesh-config
	// authzPolicies are the AuthorizationPolicies, in input order.
	authzPolicies []*authorizationPolicy
	// requestAuthns are the RequestAuthentications, all applied to the
	// gateway, sorted by namespace, name; requestauthn.go orders their
	// rules.
	requestAuthns []*requestAuthentication

	listeners map[listenerKey]*listener
	clusters  map[string]*ir.Cluster

	// delegates are the VirtualServices a root delegates to; byName finds
	// a VirtualService by "namespace/name".
	delegates map[*virtualService]bool
	byName    map[string]*virtualService

	// kubernetes says destinations without a ServiceEntry take their
	// endpoints from the Kubernetes API (upstream.go).
	kubernetes bool
}

// Compile lowers resources into the IR; mesh is the mesh config, nil for
// none. The IR is nil when there are errors.
func Compile(resources []*load.Resource, mesh *MeshConfig) (*ir.Config, diag.List) {
	return compile(resources, mesh, "")
}

// compile is Compile with endpoints, Options.Endpoints.
func compile(resources []*load.Resource, mesh *MeshConfig, endpoints string) (*ir.Config, diag.List) {
	c := &compilation{
		mesh:       mesh,
		gateways:   map[string]*gateway{},
		listeners:  map[listenerKey]*listener{},
		clusters:   map[string]*ir.Cluster{},
		kubernetes: endpoints == EndpointsKubernetes,
	}
	c.decode(resources)
	c.collectDestinationRules()
	c.findDelegates()
	c.buildListeners()
	c.bindVirtualServices()
	c.checkDestinations()
	c.checkAnnotations()
	cfg := c.lower(resources)
	cfg.Plugins = c.lowerPlugins(cfg)
	cfg.Authz = c.lowerAuthz(cfg)
	cfg.JWTRules = c.lowerJWTRules()
	c.warnClaimRoutes()
	cfg.Workload = c.workload(cfg)
	cfg.Tracing = c.lowerTracing(cfg)
	c.warnPolicyTargets(cfg.Workload)
	cfg.Topology = c.topology(cfg)
	if c.kubernetes {
		cfg.Endpoints = EndpointsKubernetes
	}
	c.warnMergedDestinationRules()
	c.warnUnusedDestinationRules()
	c.diags.Sort()
	c.diags = slices.Compact(c.diags)
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return cfg, c.diags
}

// checkDestinations resolves the destinations of every rule once, whether
// or not the VirtualService is bound, so that their problems are reported
// even when a gateway reference is broken too. Clusters made here that no
// route uses are left out of the IR.
func (c *compilation) checkDestinations() {
	for _, vs := range c.vss {
		for i, rule := range vs.Spec.HTTP {
			c.destinations(vs, i, rule, 0)
			c.checkRule(vs, i, rule)
			c.mirrors(vs, i, rule, 0)
		}
	}
}

// decode reads each resource into the typed model.
func (c *compilation) decode(resources []*load.Resource) {
	for _, r := range resources {
		c.checkSupported(r)
		var err error
		switch r.Kind {
		case "Gateway":
			g := &gateway{Resource: r}
			if err = decodeSpec(r, &g.Spec); err == nil {
				c.gateways[r.Namespace+"/"+r.Name] = g
			}
		case "VirtualService":
			vs := &virtualService{Resource: r}
			if err = decodeSpec(r, &vs.Spec); err == nil {
				c.vss = append(c.vss, vs)
			}
		case "ServiceEntry":
			se := &serviceEntry{Resource: r}
			if err = decodeSpec(r, &se.Spec); err == nil {
				c.ses = append(c.ses, se)
			}
		case "GatewayPlugin":
			gp := &gatewayPlugin{Resource: r}
			if err = r.Value.LookupPath(specPath).Decode(&gp.Spec); err == nil {
				c.plugins = append(c.plugins, gp)
			}
		case "AuthorizationPolicy":
			ap := &authorizationPolicy{Resource: r}
			if err = decodeSpec(r, &ap.Spec); err == nil {
				c.authzPolicies = append(c.authzPolicies, ap)
			}
		case "Telemetry":
			t := &telemetry{Resource: r}
			if err = decodeSpec(r, &t.Spec); err == nil {
				c.telemetries = append(c.telemetries, t)
			}
		case "RequestAuthentication":
			ra := &requestAuthentication{Resource: r}
			if err = decodeSpec(r, &ra.Spec); err == nil {
				c.requestAuthns = append(c.requestAuthns, ra)
			}
		case "DestinationRule":
			dr := &destinationRule{Resource: r}
			if err = decodeSpec(r, &dr.Spec); err == nil {
				c.drs = append(c.drs, dr)
			}
		}
		if err != nil {
			c.errorc(codeInternal, r, "spec", "", "decoding: %v", err)
		}
	}
	byName := func(a, b *load.Resource) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(c.vss, func(a, b *virtualService) int { return load.CompareCreation(a.Resource, b.Resource) })
	slices.SortFunc(c.ses, func(a, b *serviceEntry) int { return byName(a.Resource, b.Resource) })
	slices.SortFunc(c.drs, func(a, b *destinationRule) int { return byName(a.Resource, b.Resource) })
	slices.SortFunc(c.telemetries, func(a, b *telemetry) int { return byName(a.Resource, b.Resource) })
	slices.SortFunc(c.requestAuthns, func(a, b *requestAuthentication) int { return byName(a.Resource, b.Resource) })
}
