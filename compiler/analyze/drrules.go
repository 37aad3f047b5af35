package analyze

import (
	"fmt"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// destinationRuleExtra: subset labels and minimumRingSize beside a hash
// algorithm (validateLoadBalancer).
func (r *reporter) destinationRuleExtra(res *load.Resource, s map[string]any) {
	subsets, _ := s["subsets"].([]any)
	r.trafficPolicy(res, "spec.trafficPolicy", s["trafficPolicy"])
	for i, sv := range subsets {
		sub, _ := sv.(map[string]any)
		path := fmt.Sprintf("spec.subsets[%d]", i)
		l, _ := sub["labels"].(map[string]any)
		r.labels(res, path+".labels", l)
		r.trafficPolicy(res, path+".trafficPolicy", sub["trafficPolicy"])
	}
}

func (r *reporter) trafficPolicy(res *load.Resource, path string, v any) {
	tp, _ := v.(map[string]any)
	r.ringSize(res, path+".loadBalancer", tp["loadBalancer"])
	ports, _ := tp["portLevelSettings"].([]any)
	for i, pv := range ports {
		p, _ := pv.(map[string]any)
		r.ringSize(res, fmt.Sprintf("%s.portLevelSettings[%d].loadBalancer", path, i), p["loadBalancer"])
	}
}

func (r *reporter) ringSize(res *load.Resource, path string, v any) {
	lb, _ := v.(map[string]any)
	ch, _ := lb["consistentHash"].(map[string]any)
	if n, _ := ch["minimumRingSize"].(float64); n == 0 {
		return
	}
	if _, ok := ch["ringHash"]; ok {
		r.bad(res, path+".consistentHash.minimumRingSize", "set ringHash.minimumRingSize instead", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
	} else if _, ok := ch["maglev"]; ok {
		r.bad(res, path+".consistentHash.minimumRingSize", "remove it: maglev uses tableSize", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
	}
}

// caCertificates is istioctl's CaCertificateAnalyzer: upstream SIMPLE or
// MUTUAL TLS that verifies no server certificate (IST0128 for the rule,
// IST0129 for a port).
func (r *reporter) caCertificates(resources []*load.Resource) {
	for _, res := range resources {
		if res.Kind != "DestinationRule" {
			continue
		}
		var s map[string]any
		if jsonSpec(specJSON(res)).Decode(&s) != nil {
			continue
		}
		host, _ := s["host"].(string)
		tp, _ := s["trafficPolicy"].(map[string]any)
		check := func(path, code string, v any, port string) {
			tls, _ := v.(map[string]any)
			mode, _ := tls["mode"].(string)
			if mode != "SIMPLE" && mode != "MUTUAL" {
				return
			}
			ca, _ := tls["caCertificates"].(string)
			cred, _ := tls["credentialName"].(string)
			skip, _ := tls["insecureSkipVerify"].(bool)
			if ca != "" || cred != "" || skip {
				return
			}
			msg := fmt.Sprintf("DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s",
				res.Name, res.Namespace, mode, host)
			if port != "" {
				msg += " at port " + port
			}
			r.report(diag.Warning, code, res, path, "set caCertificates to the CA that signs the upstream's certificate (gwc falls back to the system roots)", msg)
		}
		check("spec.trafficPolicy.tls.mode", diag.CodeNoServerVerification, tp["tls"], "")
		ports, _ := tp["portLevelSettings"].([]any)
		for i, pv := range ports {
			p, _ := pv.(map[string]any)
			pn, _ := p["port"].(map[string]any)
			n, _ := pn["number"].(float64)
			check(fmt.Sprintf("spec.trafficPolicy.portLevelSettings[%d].tls.mode", i), diag.CodeNoServerVerificationPort, p["tls"], fmt.Sprint(n))
		}
	}
}
