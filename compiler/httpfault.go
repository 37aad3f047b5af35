package compiler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// fault, corsPolicy and mirrors, as istiod translates them into Envoy's
// fault filter, CORS filter and request_mirror_policies.

// grpcCodes are the gRPC status names Istio's abort.grpcStatus takes.
var grpcCodes = map[string]int{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5,
	"ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
	"ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
	"DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

var corsMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"}

func lowerFault(f *httpFault) *ir.Fault {
	if f == nil {
		return nil
	}
	out := &ir.Fault{AbortGRPC: -1}
	if d := f.Delay; d != nil {
		if dur, err := parseDuration(d.FixedDelay); err == nil {
			out.DelayMS = dur.Milliseconds()
		}
		// An absent percentage falls back to the deprecated integer
		// percent, whose default is 0: no request is delayed.
		out.DelayPercent = float64(d.Percent)
		if d.Percentage != nil {
			out.DelayPercent = d.Percentage.Value
		}
	}
	if a := f.Abort; a != nil {
		out.AbortStatus = a.HTTPStatus
		if code, ok := grpcCodes[a.GRPCStatus]; ok && a.GRPCStatus != "" {
			out.AbortGRPC = code
		}
		if a.Percentage != nil {
			out.AbortPercent = a.Percentage.Value
		}
	}
	return out
}

func lowerCORS(p *corsPolicy) *ir.CORS {
	if p == nil {
		return nil
	}
	out := &ir.CORS{
		AllowMethods:               strings.Join(p.AllowMethods, ","),
		AllowHeaders:               strings.Join(p.AllowHeaders, ","),
		ExposeHeaders:              strings.Join(p.ExposeHeaders, ","),
		AllowCredentials:           p.AllowCredentials != nil && *p.AllowCredentials,
		ForwardUnmatchedPreflights: p.UnmatchedPreflights != "IGNORE",
	}
	for _, o := range p.AllowOrigin {
		out.AllowOrigins = append(out.AllowOrigins, ir.StringMatch{Kind: "exact", Value: o})
	}
	for _, o := range p.AllowOrigins {
		out.AllowOrigins = append(out.AllowOrigins, lowerString(&o))
	}
	if d, err := parseDuration(p.MaxAge); err == nil {
		out.MaxAge = strconv.FormatInt(int64(d/time.Second), 10)
	}
	return out
}

// mirrorTargets lists the rule's mirror destinations with their
// percentages: mirror with mirrorPercentage (absent: 100%), or each of
// mirrors (absent: 100%).
func mirrorTargets(rule httpRoute) []mirrorPolicy {
	if rule.Mirror != nil {
		pct := &percent{Value: 100}
		switch {
		case rule.MirrorPercentage != nil:
			pct = rule.MirrorPercentage
		case rule.MirrorPercent != nil:
			pct = &percent{Value: float64(*rule.MirrorPercent)}
		case rule.MirrorPercentOld != nil:
			pct = &percent{Value: float64(*rule.MirrorPercentOld)}
		}
		return []mirrorPolicy{{Destination: *rule.Mirror, Percentage: pct}}
	}
	out := slices.Clone(rule.Mirrors)
	for i := range out {
		if out[i].Percentage == nil {
			out[i].Percentage = &percent{Value: 100}
		}
	}
	return out
}

// mirrors resolves the rule's mirror destinations to clusters.
func (c *compilation) mirrors(vs *virtualService, i int, rule httpRoute, listenerPort int) []pendingMirror {
	var out []pendingMirror
	for k, m := range mirrorTargets(rule) {
		path := fmt.Sprintf("spec.http[%d].mirrors[%d].destination", i, k)
		if rule.Mirror != nil {
			path = fmt.Sprintf("spec.http[%d].mirror", i)
		}
		name, ok := c.cluster(vs, path, m.Destination, listenerPort)
		if ok && m.Percentage.Value > 0 {
			out = append(out, pendingMirror{cluster: name, percent: m.Percentage.Value})
		}
	}
	return out
}

type pendingMirror struct {
	cluster string
	percent float64
}

// checkExtras reports the problems of fault, corsPolicy and mirrors.
func (c *compilation) checkExtras(vs *virtualService, i int, rule httpRoute) {
	at := func(f string) string { return fmt.Sprintf("spec.http[%d]", i) + f }
	if f := rule.Fault; f != nil {
		if f.Delay == nil && f.Abort == nil {
			c.errorc(codeValidation, vs.Resource, at(".fault"), "add a delay or an abort", "fault has neither delay nor abort")
		}
		if d := f.Delay; d != nil {
			if d.FixedDelay == "" {
				c.errorc(codeUnsupported, vs.Resource, at(".fault.delay"), "set fixedDelay (istiod does not translate exponentialDelay)", "a delay without fixedDelay")
			} else {
				c.checkDuration(vs, at(".fault.delay.fixedDelay"), d.FixedDelay)
			}
			if d.Percentage != nil {
				c.checkPercent(vs, at(".fault.delay.percentage.value"), d.Percentage.Value)
			}
		}
		if a := f.Abort; a != nil {
			switch {
			case a.HTTP2Error != "":
				c.errorc(codeValidation, vs.Resource, at(".fault.abort.http2Error"), "use httpStatus or grpcStatus", "http2Error is not supported by Istio")
			case a.GRPCStatus != "":
				if _, ok := grpcCodes[a.GRPCStatus]; !ok {
					c.errorc(codeValidation, vs.Resource, at(".fault.abort.grpcStatus"), "use a gRPC code name such as UNAVAILABLE",
						"unknown gRPC status %q", a.GRPCStatus)
				}
			case a.HTTPStatus == 0:
				c.warnc(codeValidationWarn, vs.Resource, at(".fault.abort"), "set httpStatus or grpcStatus", "abort has no error type and aborts nothing")
			}
			if a.Percentage != nil {
				c.checkPercent(vs, at(".fault.abort.percentage.value"), a.Percentage.Value)
			}
		}
	}
	if rule.MirrorPercent != nil || rule.MirrorPercentOld != nil {
		c.warnc(codeValidationWarn, vs.Resource, at(".mirrorPercent"), "use mirrorPercentage: {value: N}", "mirrorPercent is deprecated")
	}
	if rule.MirrorPercentage != nil {
		c.checkPercent(vs, at(".mirrorPercentage.value"), rule.MirrorPercentage.Value)
	}
	for k, m := range rule.Mirrors {
		if m.Percentage != nil {
			c.checkPercent(vs, at(fmt.Sprintf(".mirrors[%d].percentage.value", k)), m.Percentage.Value)
		}
	}
	if rule.Mirror == nil && rule.Mirrors == nil && (rule.MirrorPercentage != nil || rule.MirrorPercent != nil) {
		c.warnc(codeValidationWarn, vs.Resource, at(".mirrorPercentage"), "remove it, or add a mirror", "mirrorPercentage without mirror has no effect")
	}
	if p := rule.CorsPolicy; p != nil {
		for k, o := range p.AllowOrigins {
			path := at(fmt.Sprintf(".corsPolicy.allowOrigins[%d]", k))
			switch {
			case o.Exact != nil && *o.Exact == "", o.Prefix != nil && *o.Prefix == "":
				c.errorc(codeValidation, vs.Resource, path, `give an origin such as "https://example.com", or exact "*"`, "an empty origin is invalid")
			case o.Regex != nil:
				c.checkRegex(vs, path+".regex", *o.Regex)
			case o.Exact == nil && o.Prefix == nil:
				c.errorc(codeValidation, vs.Resource, path, "use exact, prefix or regex", "allowOrigins entry has no condition")
			}
		}
		for k, m := range p.AllowMethods {
			if !slices.Contains(corsMethods, m) {
				c.errorc(codeValidation, vs.Resource, at(fmt.Sprintf(".corsPolicy.allowMethods[%d]", k)), "use one of "+strings.Join(corsMethods, ", "),
					"%q is not an HTTP method CORS allows", m)
			}
		}
		if p.MaxAge != "" {
			if d, err := parseDuration(p.MaxAge); err != nil || d%time.Second != 0 {
				c.errorc(codeValidation, vs.Resource, at(".corsPolicy.maxAge"), `use whole seconds, such as "24h" or "600s"`, "maxAge %q is not whole seconds", p.MaxAge)
			}
		}
	}
}

func (c *compilation) checkPercent(vs *virtualService, path string, v float64) {
	if v < 0 || v > 100 {
		c.errorc(codeValidation, vs.Resource, path, "use a value from 0 to 100", "percentage %v is outside 0-100", v)
	} else if v > 0 && v < 0.0001 {
		c.errorc(codeValidation, vs.Resource, path, "use 0, or 0.0001 or more", "percentage %v is below Istio's precision of 0.0001", v)
	}
}
