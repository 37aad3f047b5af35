package compiler

import (
	"fmt"
	"maps"
	"strings"
)

// Delegation, as istiod merges a root VirtualService with its delegates
// (pilot/pkg/model/virtualservice.go): one level only; a rule with
// `delegate` is replaced, in place, by the delegate's rules, each match
// AND'ed with each compatible root match, and the delegate's rules
// inherit the root rule's actions they do not set.

// ruleRef is one HTTP rule as a root VirtualService serves it: its own, or
// a delegate's merged with the root rule.
type ruleRef struct {
	vs    *virtualService // where the rule is written
	index int             // its index in vs.Spec.HTTP
	rule  httpRoute
	// matchOrigin[j] is the index in the rule's own match list that merged
	// match j came from (nil: j itself).
	matchOrigin []int
}

// findDelegates records which VirtualServices are delegates and checks
// every delegate reference: the target exists, has no hosts or gateways,
// does not delegate again (which also rules out loops), and the root rule
// has no route, redirect or directResponse of its own.
func (c *compilation) findDelegates() {
	c.delegates = map[*virtualService]bool{}
	byName := map[string]*virtualService{}
	for _, vs := range c.vss {
		byName[vs.Namespace+"/"+vs.Name] = vs
	}
	for _, vs := range c.vss {
		for i, rule := range vs.Spec.HTTP {
			d := delegateOf(rule)
			if d == nil {
				continue
			}
			path := fmt.Sprintf("spec.http[%d].delegate", i)
			ns := d.Namespace
			if ns == "" {
				ns = vs.Namespace
			}
			target := byName[ns+"/"+d.Name]
			switch {
			case d.Name == "":
				c.errorc(codeUnsupported, vs.Resource, path, "name the delegate VirtualService", "a delegate without a name, which istiod ignores")
				continue
			case target == nil:
				c.errorc(codeNotFound, vs.Resource, path, "define the delegate VirtualService, or fix the name",
					"delegate VirtualService %s/%s not found", ns, d.Name)
				continue
			case target == vs:
				// istiod looks delegates up among the VirtualServices without
				// hosts, so this one is not found (IST0101); a resource alone
				// passes Istio's webhook.
				c.errorc(codeNotFound, vs.Resource, path, "delegate to another VirtualService",
					"delegate VirtualService %s/%s not found: a VirtualService cannot delegate to itself", ns, d.Name)
				continue
			}
			c.delegates[target] = true
			if len(rule.Route) > 0 || rule.Redirect != nil || rule.DirectResponse != nil {
				c.errorc(codeValidation, vs.Resource, fmt.Sprintf("spec.http[%d]", i), "remove route, redirect and directResponse from the rule: the delegate's rules act",
					"a rule with delegate cannot have route, redirect or directResponse")
			}
		}
	}
	for vs := range c.delegates {
		if len(vs.Spec.Hosts) > 0 {
			c.errorc(codeValidation, vs.Resource, "spec.hosts", "remove hosts: the root VirtualService names them", "a delegate VirtualService must not have hosts")
		}
		if len(vs.Spec.Gateways) > 0 {
			c.errorc(codeValidation, vs.Resource, "spec.gateways", "remove gateways: the root VirtualService names them", "a delegate VirtualService must not have gateways")
		}
		for i, rule := range vs.Spec.HTTP {
			if delegateOf(rule) != nil {
				c.errorc(codeValidation, vs.Resource, fmt.Sprintf("spec.http[%d].delegate", i), "delegate only from a root VirtualService (one level)",
					"a delegate VirtualService cannot delegate again")
			}
		}
	}
	c.byName = byName
}

type delegateRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// delegateOf reads a rule's delegate reference, nil when it has none.
func delegateOf(rule httpRoute) *delegateRef {
	m, ok := rule.Delegate.(map[string]any)
	if !ok {
		return nil
	}
	d := &delegateRef{}
	d.Name, _ = m["name"].(string)
	d.Namespace, _ = m["namespace"].(string)
	return d
}

// rulesOf returns the rules a root VirtualService serves, delegates
// merged in place.
func (c *compilation) rulesOf(vs *virtualService) []ruleRef {
	var out []ruleRef
	for i, rule := range vs.Spec.HTTP {
		d := delegateOf(rule)
		if d == nil {
			out = append(out, ruleRef{vs: vs, index: i, rule: rule})
			continue
		}
		ns := d.Namespace
		if ns == "" {
			ns = vs.Namespace
		}
		child := c.byName[ns+"/"+d.Name]
		if child == nil || child == vs {
			continue // reported by findDelegates
		}
		for k, leaf := range child.Spec.HTTP {
			if delegateOf(leaf) != nil {
				continue
			}
			merged, origin, ok := mergeRule(rule, leaf)
			if !ok {
				c.warnc(codeUnreachable, child.Resource, fmt.Sprintf("spec.http[%d]", k), "make the rule's matches narrow those of the root rule",
					"no match of this delegate rule fits a match of root %s/%s http[%d]: the rule is dropped there", vs.Namespace, vs.Name, i)
				continue
			}
			out = append(out, ruleRef{vs: child, index: k, rule: merged, matchOrigin: origin})
		}
	}
	return out
}

// mergeRule merges a delegate rule into its root rule as istiod does.
func mergeRule(root, leaf httpRoute) (httpRoute, []int, bool) {
	out := leaf
	var origin []int
	switch {
	case len(root.Match) == 0:
	case len(leaf.Match) == 0:
		out.Match = root.Match
		origin = make([]int, len(root.Match)) // all from the leaf's implicit match
	default:
		out.Match = nil
		for _, rm := range root.Match {
			for j, lm := range leaf.Match {
				if matchConflict(rm, lm) {
					continue
				}
				out.Match = append(out.Match, mergeMatch(rm, lm))
				origin = append(origin, j)
			}
		}
		if len(out.Match) == 0 {
			return out, nil, false
		}
	}
	if root.Name != "" && leaf.Name != "" {
		out.Name = root.Name + "-" + leaf.Name
	} else if out.Name == "" {
		out.Name = root.Name
	}
	if out.Rewrite == nil {
		out.Rewrite = root.Rewrite
	}
	if out.Timeout == "" {
		out.Timeout = root.Timeout
	}
	if out.Retries == nil {
		out.Retries = root.Retries
	}
	if out.Fault == nil {
		out.Fault = root.Fault
	}
	if out.Mirror == nil && out.Mirrors == nil {
		out.Mirror, out.Mirrors = root.Mirror, root.Mirrors
		out.MirrorPercentage, out.MirrorPercent, out.MirrorPercentOld = root.MirrorPercentage, root.MirrorPercent, root.MirrorPercentOld
	}
	if out.CorsPolicy == nil {
		out.CorsPolicy = root.CorsPolicy
	}
	if out.Headers == nil {
		out.Headers = root.Headers
	}
	if out.DirectResponse == nil && len(out.Route) == 0 && out.Redirect == nil {
		out.DirectResponse = root.DirectResponse
	}
	return out, origin, true
}

func mergeMatch(root, leaf httpMatch) httpMatch {
	out := leaf
	if out.Name == "" {
		out.Name = root.Name
	} else if root.Name != "" {
		out.Name = root.Name + "-" + leaf.Name
	}
	if out.URI == nil {
		out.URI = root.URI
	}
	if out.Scheme == nil {
		out.Scheme = root.Scheme
	}
	if out.Method == nil {
		out.Method = root.Method
	}
	if out.Authority == nil {
		out.Authority = root.Authority
	}
	out.Headers = mergeMaps(root.Headers, leaf.Headers)
	out.WithoutHeaders = mergeMaps(root.WithoutHeaders, leaf.WithoutHeaders)
	out.QueryParams = mergeMaps(root.QueryParams, leaf.QueryParams)
	if out.Port == 0 {
		out.Port = root.Port
	}
	if len(out.Gateways) == 0 {
		out.Gateways = root.Gateways
	}
	return out
}

func mergeMaps(root, leaf map[string]stringMatch) map[string]stringMatch {
	if len(root) == 0 && len(leaf) == 0 {
		return nil
	}
	out := maps.Clone(root)
	if out == nil {
		out = map[string]stringMatch{}
	}
	maps.Copy(out, leaf)
	return out
}

// matchConflict reports whether a delegate match cannot narrow a root
// match (istiod's hasConflict).
func matchConflict(root, leaf httpMatch) bool {
	pairs := [][2]*stringMatch{{root.URI, leaf.URI}, {root.Scheme, leaf.Scheme}, {root.Method, leaf.Method}, {root.Authority, leaf.Authority}}
	for _, p := range pairs {
		if stringConflict(p[0], p[1]) {
			return true
		}
	}
	for _, m := range [][2]map[string]stringMatch{{root.Headers, leaf.Headers}, {root.WithoutHeaders, leaf.WithoutHeaders}, {root.QueryParams, leaf.QueryParams}} {
		for k, lv := range m[1] {
			if rv, ok := m[0][k]; ok && stringConflict(&rv, &lv) {
				return true
			}
		}
	}
	if root.IgnoreURICase != leaf.IgnoreURICase {
		return true
	}
	if root.Port > 0 && leaf.Port > 0 && root.Port != leaf.Port {
		return true
	}
	if len(root.Gateways) > 0 && len(leaf.Gateways) > 0 {
		for _, g := range leaf.Gateways {
			found := false
			for _, rg := range root.Gateways {
				found = found || rg == g
			}
			if !found {
				return true
			}
		}
	}
	return false
}

func stringConflict(root, leaf *stringMatch) bool {
	if root == nil || leaf == nil {
		return false
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	rRegex, lRegex := str(root.Regex), str(leaf.Regex)
	if rRegex != "" && (lRegex != "" || str(leaf.Prefix) != "" || str(leaf.Exact) != "") {
		return true
	}
	if lRegex != "" && (str(root.Prefix) != "" || str(root.Exact) != "") {
		return true
	}
	if exact := str(root.Exact); exact != "" {
		if str(leaf.Prefix) != "" || str(leaf.Exact) != exact {
			return true
		}
	}
	if prefix := str(root.Prefix); prefix != "" {
		if lp := str(leaf.Prefix); lp != "" && !strings.HasPrefix(lp, prefix) {
			return true
		}
		if le := str(leaf.Exact); le != "" && !strings.HasPrefix(le, prefix) {
			return true
		}
	}
	return false
}
