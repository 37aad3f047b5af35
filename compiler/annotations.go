package compiler

import "github.com/gwc-dev/gwc/compiler/load"

// gwc's own annotations (compression, request body limit) set a route's
// behaviour from its VirtualService, else from the first of its Gateways
// that carries the annotation. Each is checked once per resource (reported
// there), then read quietly per route.

// routeAnnotation returns what read finds on vs, else on the first of
// gateways (namespace/name keys) where it is set; the zero T when none is.
func routeAnnotation[T any](c *compilation, vs *virtualService, gateways []string, read func(*load.Resource) (T, bool)) T {
	if v, ok := quietly(c, vs.Resource, read); ok {
		return v
	}
	for _, g := range gateways {
		if gw := c.gateways[g]; gw != nil {
			if v, ok := quietly(c, gw.Resource, read); ok {
				return v
			}
		}
	}
	var zero T
	return zero
}

// quietly runs read without reporting: the check reported each resource
// once already.
func quietly[T any](c *compilation, r *load.Resource, read func(*load.Resource) (T, bool)) (T, bool) {
	saved := len(c.diags)
	v, ok := read(r)
	c.diags = c.diags[:saved]
	return v, ok
}

// checkAnnotations reports bad gwc annotations on every Gateway and
// VirtualService, bound or not.
func (c *compilation) checkAnnotations() {
	for _, k := range sortedKeys(c.gateways) {
		c.compressionOf(c.gateways[k].Resource)
		c.maxRequestBodyOf(c.gateways[k].Resource)
		c.rateLimitOf(c.gateways[k].Resource)
	}
	for _, vs := range c.vss {
		c.compressionOf(vs.Resource)
		c.maxRequestBodyOf(vs.Resource)
		c.rateLimitOf(vs.Resource)
	}
}
