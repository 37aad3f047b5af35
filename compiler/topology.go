package compiler

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"sigs.k8s.io/yaml"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// ProxyConfigAnnotation is where Istio users set the gateway's
// ProxyConfig (a YAML document); gwc reads its gatewayTopology: how many
// proxies in front append to X-Forwarded-For (numTrustedProxies), how
// x-forwarded-client-cert is handled (forwardClientCertDetails) and
// whether connections start with a PROXY protocol header (proxyProtocol).
const ProxyConfigAnnotation = "proxy.istio.io/config"

var (
	proxyConfigPath    = `metadata.annotations["` + ProxyConfigAnnotation + `"]`
	proxyConfigPathCUE = cue.MakePath(cue.Str("metadata"), cue.Str("annotations"), cue.Str(ProxyConfigAnnotation))
)

// forwardClientCertDetails are the names Istio's enum accepts; UNDEFINED
// is the default (SANITIZE_SET at a gateway).
var forwardClientCertDetails = []string{"UNDEFINED", "SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"}

// topology reads the annotation of every Gateway that made a listener:
// the binary is one gateway workload, so they must agree; the first (by
// namespace and name) wins and each that differs is an error.
func (c *compilation) topology(cfg *ir.Config) ir.Topology {
	used := map[string]bool{}
	for _, l := range cfg.Listeners {
		for _, s := range l.Servers {
			used[s.Resource] = true
		}
	}
	var t ir.Topology
	for _, id := range slices.Sorted(maps.Keys(used)) {
		gw := c.gateways[id]
		if gw == nil {
			continue
		}
		got, ok := c.topologyOf(gw)
		if !ok {
			continue
		}
		if t.Origin == nil {
			t = got
			continue
		}
		if got.NumTrustedProxies != t.NumTrustedProxies || got.ForwardClientCertDetails != t.ForwardClientCertDetails || got.ProxyProtocol != t.ProxyProtocol {
			c.errorc(codeAnnotation, gw, proxyConfigPath, "give every Gateway of the binary the same gatewayTopology, or build them into separate binaries",
				"annotation %s: gatewayTopology differs from the one at %s: one binary is one gateway workload", ProxyConfigAnnotation, t.Origin)
		}
	}
	return t
}

// topologyOf reads gw's annotation; ok is false when it is absent, sets
// no gatewayTopology or is bad (reported).
func (c *compilation) topologyOf(gw *gateway) (t ir.Topology, ok bool) {
	v := gw.Value.LookupPath(proxyConfigPathCUE)
	if !v.Exists() {
		return t, false
	}
	bad := func(hint, format string, args ...any) (ir.Topology, bool) {
		c.errorc(codeAnnotation, gw, proxyConfigPath, hint, "annotation %s: "+format, append([]any{ProxyConfigAnnotation}, args...)...)
		return ir.Topology{}, false
	}
	src, err := v.String()
	if err != nil {
		return bad("write the ProxyConfig as a YAML string, e.g. \"gatewayTopology: {numTrustedProxies: 1}\"", "must be a string")
	}
	js, err := yaml.YAMLToJSON([]byte(src))
	if err != nil {
		return bad("write the ProxyConfig as YAML", "not YAML: %v", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return bad("write the ProxyConfig as a YAML mapping", "not a mapping of ProxyConfig fields")
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if k != "gatewayTopology" {
			c.warnc(codeAnnotation, gw, proxyConfigPath, "remove it, or keep it for an Istio gateway that reads the same annotation",
				"annotation %s: %s has no effect on a gwc binary (only gatewayTopology is read)", ProxyConfigAnnotation, k)
		}
	}
	raw, found := top["gatewayTopology"]
	if !found || string(raw) == "null" {
		return t, false
	}
	var gt struct {
		NumTrustedProxies        *json.Number                `json:"numTrustedProxies"`
		ForwardClientCertDetails *string                     `json:"forwardClientCertDetails"`
		ProxyProtocol            *map[string]json.RawMessage `json:"proxyProtocol"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&gt); err != nil {
		return bad("gatewayTopology takes numTrustedProxies (a count), forwardClientCertDetails (one of "+strings.Join(forwardClientCertDetails, ", ")+") and proxyProtocol ({})",
			"gatewayTopology: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if n := gt.NumTrustedProxies; n != nil {
		i, err := n.Int64()
		if err != nil || i < 0 || i > 64 {
			return bad("write the number of proxies in front of the gateway, 0 to 64", "gatewayTopology.numTrustedProxies: %s is not a count of proxies", n.String())
		}
		t.NumTrustedProxies = int(i)
	}
	if m := gt.ForwardClientCertDetails; m != nil {
		if !slices.Contains(forwardClientCertDetails, *m) {
			return bad("use one of "+strings.Join(forwardClientCertDetails, ", "), "gatewayTopology.forwardClientCertDetails: unknown value %q", *m)
		}
		if *m != "UNDEFINED" {
			t.ForwardClientCertDetails = *m
		}
	}
	if p := gt.ProxyProtocol; p != nil {
		if len(*p) > 0 {
			return bad("write proxyProtocol: {} (Istio's ProxyProtocolConfiguration has no fields; v1 and v2 are both accepted)",
				"gatewayTopology.proxyProtocol: unknown field %q", slices.Sorted(maps.Keys(*p))[0])
		}
		t.ProxyProtocol = true
	}
	t.Origin = &ir.Origin{Pos: gw.PosOf(proxyConfigPath), Resource: gw.Namespace + "/" + gw.Name, Field: "gatewayTopology"}
	return t, true
}
