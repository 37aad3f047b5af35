package compiler

import (
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// LocalRateLimitAnnotation is gwc's local rate limit of a Gateway's or a
// VirtualService's hosts: Istio has no field for it (it takes an
// EnvoyFilter with Envoy's local_ratelimit filter). Its value is
// "REQUESTS/INTERVAL" with an optional ";burst=N": a token bucket per host
// that gains REQUESTS tokens per INTERVAL (a Go duration, at least 50ms,
// Envoy's least fill_interval) and holds N (REQUESTS when absent), full at
// start; "off" lifts a Gateway's limit for a VirtualService's hosts. A
// VirtualService's annotation overrides its Gateway's.
const LocalRateLimitAnnotation = "gwc.io/local-rate-limit"

var rateLimitPath = cue.MakePath(cue.Str("metadata"), cue.Str("annotations"), cue.Str(LocalRateLimitAnnotation))

// rateLimitOf reads r's rate limit annotation: set says it is present; the
// limit is nil for "off". A bad value is reported and reads as absent.
func (c *compilation) rateLimitOf(r *load.Resource) (rl *ir.RateLimit, set bool) {
	v := r.Value.LookupPath(rateLimitPath)
	if !v.Exists() {
		return nil, false
	}
	path := `metadata.annotations["` + LocalRateLimitAnnotation + `"]`
	hint := `write REQUESTS/INTERVAL with an optional ;burst=N, such as "100/1m" or "10/1s;burst=20", or "off"`
	s, err := v.String()
	if err != nil {
		c.errorc(codeAnnotation, r, path, hint, "annotation %s must be a string", LocalRateLimitAnnotation)
		return nil, false
	}
	s = strings.TrimSpace(s)
	if s == "off" {
		return nil, true
	}
	spec, burst, hasBurst := strings.Cut(s, ";")
	reqs, interval, ok := strings.Cut(strings.TrimSpace(spec), "/")
	n, errN := strconv.Atoi(strings.TrimSpace(reqs))
	d, errD := time.ParseDuration(strings.TrimSpace(interval))
	if !ok || errN != nil || n < 1 || n > 1<<30 || errD != nil || d < 50*time.Millisecond || d > 24*time.Hour {
		c.errorc(codeAnnotation, r, path, hint, "annotation %s: %q is not a rate of 1 or more requests per interval of 50ms to 24h", LocalRateLimitAnnotation, s)
		return nil, false
	}
	out := &ir.RateLimit{Requests: n, Interval: d, Burst: n, Origin: ir.Origin{Pos: r.PosOf(path), Resource: r.Namespace + "/" + r.Name}}
	if hasBurst {
		k, val, _ := strings.Cut(strings.TrimSpace(burst), "=")
		b, err := strconv.Atoi(strings.TrimSpace(val))
		if strings.TrimSpace(k) != "burst" || err != nil || b < 1 || b > 1<<30 {
			c.errorc(codeAnnotation, r, path, hint, "annotation %s: %q: want burst=N after ';', N a number of requests of 1 or more", LocalRateLimitAnnotation, s)
			return nil, false
		}
		out.Burst = b
	}
	return out, true
}

// vhostRateLimit is a host's limit: from the first VirtualService bound to
// it that sets the annotation, else from the first Gateway whose server
// made the host.
func (c *compilation) vhostRateLimit(v *vhost) *ir.RateLimit {
	for _, b := range v.bindings {
		if rl, ok := quietly(c, b.vs.Resource, c.rateLimitOf); ok {
			return rl
		}
	}
	for _, s := range v.servers {
		if rl, ok := quietly(c, s.gw.Resource, c.rateLimitOf); ok {
			return rl
		}
	}
	return nil
}
