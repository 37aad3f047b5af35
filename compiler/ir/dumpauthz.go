package ir

import (
	"strconv"
	"strings"
)

func dumpAuthz(p func(int, string, ...any), policies []AuthzPolicy) {
	for _, ap := range policies {
		p(0, "authz %s %s from %s", ap.Action, ap.Name, ap.Origin)
		if e := ap.Provider; e != nil {
			kind := "http"
			if e.GRPC {
				kind = "grpc"
			}
			p(1, "provider %s %s %s:%d timeout %s failOpen %t statusOnError %d pathPrefix %q", e.Provider, kind, e.Service, e.Port, e.Timeout, e.FailOpen, e.StatusOnError, e.PathPrefix)
		}
		if len(ap.Rules) == 0 {
			p(1, "no rules")
		}
		for _, r := range ap.Rules {
			p(1, "rule %s", r.Name)
			if len(r.From)+len(r.To)+len(r.When) == 0 {
				p(2, "any request")
			}
			for _, c := range r.From {
				p(2, "from %s", dumpAuthzConditions(c.Conditions))
			}
			for _, c := range r.To {
				p(2, "to %s", dumpAuthzConditions(c.Conditions))
			}
			if len(r.When) > 0 {
				p(2, "when %s", dumpAuthzConditions(r.When))
			}
		}
	}
}

func dumpAuthzConditions(cs []AuthzCondition) string {
	var parts []string
	for _, c := range cs {
		name := c.Attribute
		for _, k := range c.Key {
			name += "[" + k + "]"
		}
		if len(c.Values) > 0 {
			parts = append(parts, name+" in "+dumpAuthzValues(c.Values))
		}
		if len(c.NotValues) > 0 {
			parts = append(parts, name+" not in "+dumpAuthzValues(c.NotValues))
		}
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " and ")
}

func dumpAuthzValues(vs []AuthzValue) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, dumpAuthzValue(v))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func dumpAuthzValue(v AuthzValue) string {
	var s string
	switch v.Kind {
	case "port":
		s = "port " + strconv.Itoa(v.Port)
	case "present":
		s = "present"
	default:
		s = v.Kind + " " + strconv.Quote(v.Value)
	}
	if v.Sub != nil {
		s = "iss " + s + " sub " + dumpAuthzValue(*v.Sub)
	}
	return s
}
