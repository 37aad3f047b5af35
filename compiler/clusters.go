package compiler

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/names"
)

// destinations resolves the weighted destinations of one HTTP rule served
// on listenerPort.
func (c *compilation) destinations(vs *virtualService, i int, rule httpRoute, listenerPort int) []pendingDest {
	path := fmt.Sprintf("spec.http[%d].route", i)
	if len(rule.Route) == 0 {
		if rule.Redirect != nil || rule.DirectResponse != nil || rule.Delegate != nil {
			return nil // another action; unsupported.go has reported it
		}
		c.errorc(codeValidation, vs.Resource, fmt.Sprintf("spec.http[%d]", i), "add a route with a destination", "HTTP rule has no route")
		return nil
	}
	var out []pendingDest
	total := 0
	for k, d := range rule.Route {
		name, ok := c.cluster(vs, fmt.Sprintf("%s[%d].destination", path, k), d.Destination, listenerPort)
		w := 0
		if d.Weight != nil {
			w = *d.Weight
		}
		if len(rule.Route) == 1 {
			w = 100 // a single destination takes all traffic whatever its weight
		}
		total += w
		if ok && w > 0 {
			out = append(out, pendingDest{cluster: name, weight: w, index: k})
		}
	}
	if total == 0 {
		c.errorc(codeValidation, vs.Resource, path, "give at least one destination a positive weight", "the weights of the destinations total 0")
	}
	return out
}

// cluster returns the name of the cluster for a destination, creating it
// from the ServiceEntry that declares the host, or, when none does, from
// the Service's EndpointSlices in a build with --endpoints kubernetes,
// else from DNS of the host's FQDN, as inside a Kubernetes cluster.
func (c *compilation) cluster(vs *virtualService, path string, d destination, listenerPort int) (string, bool) {
	host := names.FQDN(d.Host, vs.Namespace)
	if strings.Contains(host, "*") {
		c.errorc(codeUnsupported, vs.Resource, path+".host", "name one service", "destination host %q is a wildcard", d.Host)
		return "", false
	}
	drs := c.destinationRulesFor(host)
	for _, dr := range drs {
		dr.used = true
	}
	var sub *subset
	var subDR *destinationRule
	if d.Subset != "" {
		dr, k := findSubset(drs, d.Subset)
		if k < 0 {
			c.errorc(codeNotFound, vs.Resource, path+".subset", "define the subset in a DestinationRule for "+host+", or remove it",
				"subset %q is not defined by any DestinationRule for host %s (Envoy would answer 503 NC)", d.Subset, host)
			return "", false
		}
		sub, subDR = &dr.Spec.Subsets[k], dr
	}
	port := 0
	if d.Port != nil {
		port = d.Port.Number
	}
	se := c.serviceEntryFor(host)
	var cl *ir.Cluster
	if se == nil {
		if port == 0 {
			port = listenerPort // istiod's fallback for a service it knows no ports of
		}
		if svc, ok := kubernetesService(host, port); ok && c.kubernetes {
			// The Service's only port wins over the fallback at run time
			// (runtime/kubernetes slicePort), as istiod's does.
			cl = &ir.Cluster{Host: host, Port: port, Service: svc}
		} else {
			cl = &ir.Cluster{Host: host, Port: port, Resolve: true,
				Endpoints: []ir.Endpoint{{Host: host, Port: port, Weight: 1}}}
		}
	} else {
		sp, ok := c.servicePort(vs, path, se, port)
		if !ok {
			return "", false
		}
		port = sp.Number
		if cl = c.clusterCache(port, d.Subset, host); cl != nil {
			return cl.Name, true
		}
		if cl, ok = c.endpoints(se, host, sp); !ok {
			return "", false
		}
	}
	name := fmt.Sprintf("outbound|%d|%s|%s", port, d.Subset, host)
	if c.clusters[name] != nil {
		return name, true
	}
	cl.Name = name
	if sub != nil {
		if !c.selectSubset(vs, path, cl, subDR, sub, se) {
			return "", false
		}
	}
	c.applyPolicy(cl, drs, subDR, sub, se)
	c.clusters[name] = cl
	return name, true
}

func (c *compilation) clusterCache(port int, subsetName, host string) *ir.Cluster {
	return c.clusters[fmt.Sprintf("outbound|%d|%s|%s", port, subsetName, host)]
}

// serviceEntryFor finds the ServiceEntry declaring host: an exact host
// first, then the longest wildcard.
func (c *compilation) serviceEntryFor(host string) *serviceEntry {
	var best *serviceEntry
	bestLen := -1
	for _, se := range c.ses {
		for _, h := range se.Spec.Hosts {
			h = strings.ToLower(h)
			if h == host {
				return se
			}
			if names.Covers(h, host) && len(h) > bestLen {
				best, bestLen = se, len(h)
			}
		}
	}
	return best
}

// servicePort picks the ServiceEntry port a destination targets.
func (c *compilation) servicePort(vs *virtualService, path string, se *serviceEntry, port int) (servicePort, bool) {
	var declared []string
	for _, p := range se.Spec.Ports {
		if port == 0 && len(se.Spec.Ports) == 1 || p.Number == port {
			return p, true
		}
		declared = append(declared, fmt.Sprint(p.Number))
	}
	if port == 0 {
		c.errorc(codePortRequired, vs.Resource, path, "add port: {number: N} with one of the ports "+strings.Join(declared, ", "),
			"destination port is required: ServiceEntry %s declares %d ports", se.Namespace+"/"+se.Name, len(se.Spec.Ports))
		return servicePort{}, false
	}
	c.errorc(codeNotFound, vs.Resource, path+".port.number", "use one of the ports "+strings.Join(declared, ", ")+", or declare the port in the ServiceEntry",
		"port %d is not declared by ServiceEntry %s", port, se.Namespace+"/"+se.Name)
	return servicePort{}, false
}

// endpoints builds the cluster of a ServiceEntry port. The endpoint port is
// endpoint.ports[port name], else targetPort, else the port number.
func (c *compilation) endpoints(se *serviceEntry, host string, sp servicePort) (*ir.Cluster, bool) {
	origin := ir.Origin{Pos: se.Pos, Resource: se.Namespace + "/" + se.Name}
	cl := &ir.Cluster{Host: host, Port: sp.Number, Origin: &origin}
	target := sp.Number
	if sp.TargetPort != 0 {
		target = sp.TargetPort
	}
	switch strings.ToUpper(se.Spec.Resolution) {
	case "STATIC":
	case "DNS":
		cl.Resolve = true
		if len(se.Spec.Endpoints) == 0 {
			cl.Endpoints = []ir.Endpoint{{Host: host, Port: target, Weight: 1}}
			return cl, true
		}
	case "DNS_ROUND_ROBIN", "DYNAMIC_DNS":
		c.errorc(codeUnsupported, se.Resource, "spec.resolution", "use resolution: DNS",
			"resolution %s is not supported yet", strings.ToUpper(se.Spec.Resolution))
		return nil, false
	default:
		c.errorc(codeUnsupported, se.Resource, "spec.resolution", "use resolution: STATIC with endpoints, or resolution: DNS",
			"resolution %s gives an ingress no endpoints to send traffic to", cmp.Or(se.Spec.Resolution, "NONE (the default)"))
		return nil, false
	}
	ok := true
	for i, ep := range se.Spec.Endpoints {
		path := fmt.Sprintf("spec.endpoints[%d].address", i)
		if strings.HasPrefix(ep.Address, "unix://") {
			c.errorc(codeUnsupported, se.Resource, path, "use an IP address", "unix domain socket endpoints are not supported")
			ok = false
			continue
		}
		if !cl.Resolve {
			if _, err := netip.ParseAddr(ep.Address); err != nil {
				c.errorc(codeValidation, se.Resource, path, "use an IP address, or resolution: DNS for host names",
					"endpoint address %q is not an IP address, as resolution STATIC requires", ep.Address)
				ok = false
				continue
			}
		}
		p := target
		if n, found := ep.Ports[sp.Name]; found {
			p = n
		}
		w := ep.Weight
		if w == 0 {
			w = 1
		}
		cl.Endpoints = append(cl.Endpoints, ir.Endpoint{Host: ep.Address, Port: p, Weight: w,
			Labels: sortedLabels(ep.Labels), Locality: ep.Locality})
	}
	if ok && len(cl.Endpoints) == 0 {
		c.warnc(codeNoEndpoints, se.Resource, "spec", "add endpoints", "ServiceEntry has no endpoints: requests routed to %s get 503", host)
	}
	return cl, ok
}
