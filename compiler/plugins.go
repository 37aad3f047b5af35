package compiler

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// defaultPluginTimeout bounds a plugin call when timeout is unset.
const defaultPluginTimeout = 200 * time.Millisecond

type gatewayPlugin struct {
	*load.Resource
	Spec gatewayPluginSpec
}

type gatewayPluginSpec struct {
	URL          string        `json:"url"`
	SHA256       string        `json:"sha256"`
	Phase        string        `json:"phase"`
	Priority     int           `json:"priority"`
	PluginConfig any           `json:"pluginConfig"`
	FailStrategy string        `json:"failStrategy"`
	Timeout      string        `json:"timeout"`
	Match        []pluginMatch `json:"match"`
}

type pluginMatch struct {
	Ports []struct {
		Number int `json:"number"`
	} `json:"ports"`
	Hosts  []string `json:"hosts"`
	Routes []string `json:"routes"`
}

// GatewayPlugin fields the schema accepts for WasmPlugin's sake that mean
// nothing for an executable plugin, or that are not implemented; kept here
// rather than in unsupported.go's table so the kind's rules stay together.
func init() {
	ignored := func(what string) verdict {
		return verdict{diag.Warning, what + " has no meaning for an executable plugin and is ignored", "remove it"}
	}
	unsupported["GatewayPlugin"] = map[string]verdict{
		"spec.pluginName":      ignored("pluginName"),
		"spec.imagePullPolicy": ignored("imagePullPolicy"),
		"spec.imagePullSecret": ignored("imagePullSecret"),
		"spec.verificationKey": ignored("verificationKey"),
		"spec.vmConfig":        ignored("vmConfig"),
		"spec.type":            ignored("type"),
		"spec.match[].mode": {diag.Warning, "mode is ignored: a gateway's traffic is all server side",
			"remove it"},
		"spec.selector": {diag.Warning, "selector is ignored: the plugin applies to the ingress it is compiled into",
			"remove it, or compile the plugin only into the ingresses it selects"},
		"spec.targetRef":  {diag.Error, "targetRef is not supported", "select traffic with match (ports, hosts, routes)"},
		"spec.targetRefs": {diag.Error, "targetRefs is not supported", "select traffic with match (ports, hosts, routes)"},
	}
}

var phaseRank = map[string]int{"AUTHN": 0, "AUTHZ": 1, "STATS": 2, "": 3}

// lowerPlugins checks the GatewayPlugins and returns them in hook order.
func (c *compilation) lowerPlugins(cfg *ir.Config) []ir.Plugin {
	var out []ir.Plugin
	for _, gp := range c.plugins {
		p, ok := c.plugin(gp, cfg)
		if ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b ir.Plugin) int {
		return cmp.Or(cmp.Compare(phaseRank[a.Phase], phaseRank[b.Phase]),
			cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Name, b.Name))
	})
	return out
}

func (c *compilation) plugin(gp *gatewayPlugin, cfg *ir.Config) (ir.Plugin, bool) {
	r, s := gp.Resource, &gp.Spec
	p := ir.Plugin{
		Origin:   ir.Origin{Pos: r.Pos, Resource: r.Namespace + "/" + r.Name},
		Name:     r.Namespace + "/" + r.Name,
		SHA256:   strings.ToLower(s.SHA256),
		Phase:    s.Phase,
		Priority: s.Priority,
		FailOpen: s.FailStrategy == "FAIL_OPEN",
		Timeout:  defaultPluginTimeout,
	}
	if p.Phase == "UNSPECIFIED_PHASE" {
		p.Phase = ""
	}
	ok := true
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "file" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		c.errorc(codePluginSpec, r, "spec.url", "write file:///path/of/the/plugin as the executable is in the image, e.g. file:///plugins/apikey",
			"url %q is not a file:// url with an absolute path", s.URL)
		ok = false
	} else {
		p.Path = u.Path
	}
	if s.SHA256 == "" {
		c.warnc(codePluginUnverified, r, "spec.url", "add sha256: the output of sha256sum on the executable",
			"no sha256: the plugin executable is started without verifying it")
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			c.errorc(codePluginSpec, r, "spec.timeout", "write a positive duration such as 100ms", "timeout %q is not a positive duration", s.Timeout)
			ok = false
		} else {
			p.Timeout = d
		}
	}
	if s.PluginConfig != nil {
		data, err := json.Marshal(s.PluginConfig)
		if err != nil {
			c.errorc(codePluginSpec, r, "spec.pluginConfig", "use plain values: strings, numbers, booleans, lists and mappings", "pluginConfig: %v", err)
			ok = false
		}
		p.Config = string(data)
	}
	selected := len(s.Match) == 0
	for i, m := range s.Match {
		pm := ir.PluginMatch{Hosts: m.Hosts}
		for _, port := range m.Ports {
			pm.Ports = append(pm.Ports, port.Number)
		}
		for j, name := range m.Routes {
			ids := routeIDs(cfg, name)
			if len(ids) == 0 {
				c.warnc(codePluginUnmatched, r, fmt.Sprintf("spec.match[%d].routes[%d]", i, j),
					"name a route as namespace/virtualservice/route (the http route's name) or namespace/virtualservice",
					"route %q names no route of a bound VirtualService", name)
			}
			if len(ids) == 0 {
				// Kept as written: it equals no route ID, so the match
				// selects nothing at run time instead of everything.
				ids = []string{name}
			}
			pm.Routes = append(pm.Routes, ids...)
		}
		if matchSelects(cfg, pm) {
			selected = true
		}
		p.Matches = append(p.Matches, pm)
	}
	if !selected {
		c.warnc(codePluginUnmatched, r, "spec.match", "check the ports against the Gateway servers and the hosts against their hosts",
			"match selects no traffic of this ingress: the plugin is started but never called")
	}
	return p, ok
}

// routeIDs returns the IDs of the routes a "namespace/vs/route" or
// "namespace/vs" name selects.
func routeIDs(cfg *ir.Config, name string) []string {
	vs, route, _ := strings.Cut(name, "/")
	if n, rest, found := strings.Cut(route, "/"); found {
		vs, route = vs+"/"+n, rest
	} else {
		vs, route = name, ""
	}
	var ids []string
	for _, l := range cfg.Listeners {
		for _, vh := range l.VirtualHosts {
			for _, rt := range vh.Routes {
				if rt.Origin.Resource == vs && (route == "" || rt.Name == route) {
					if id := rt.Origin.String(); !slices.Contains(ids, id) {
						ids = append(ids, id)
					}
				}
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// matchSelects reports whether m can select any request of cfg.
func matchSelects(cfg *ir.Config, m ir.PluginMatch) bool {
	for _, r := range m.Routes {
		if !strings.Contains(r, " ") {
			return false // an unresolved route name
		}
	}
	for _, l := range cfg.Listeners {
		if len(m.Ports) > 0 && !slices.Contains(m.Ports, l.Port) {
			continue
		}
		if len(m.Hosts) == 0 {
			return true
		}
		for _, vh := range l.VirtualHosts {
			for _, h := range m.Hosts {
				if hostsOverlap(strings.ToLower(h), vh.Domain) {
					return true
				}
			}
		}
	}
	return false
}

func hostsOverlap(a, b string) bool {
	switch {
	case a == b || a == "*" || b == "*":
		return true
	case strings.HasPrefix(a, "*.") && strings.HasSuffix(b, a[1:]):
		return true
	case strings.HasPrefix(b, "*.") && strings.HasSuffix(a, b[1:]):
		return true
	}
	return false
}
