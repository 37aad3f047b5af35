package host

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Spec is one compiled GatewayPlugin.
type Spec struct {
	// Name is "namespace/name"; logs and errors use it.
	Name string
	// Path is the executable (the file:// url's path).
	Path string
	// SHA256 is the expected hex checksum of the executable; "" skips the
	// check.
	SHA256 string
	// Phase is AUTHN, AUTHZ, STATS or "" (informational: the compiler
	// ordered the specs already).
	Phase    string
	Priority int
	// Config is pluginConfig as JSON.
	Config json.RawMessage
	// FailOpen lets requests pass while the plugin is down or late
	// (FAIL_OPEN); otherwise they are answered 503 (FAIL_CLOSE).
	FailOpen bool
	// Timeout bounds each call.
	Timeout time.Duration
	// Matches are OR'ed; none selects every request.
	Matches []Match
}

// Match selects requests; its conditions are AND'ed.
type Match struct {
	// Ports selects requests by gateway port; empty selects all.
	Ports []int
	// Hosts selects requests by Host header (exact, "*.suffix" or "*");
	// empty selects all.
	Hosts []string
	// Routes selects requests by the ID of the route chosen; empty
	// selects all.
	Routes []string
}

// Selects reports whether the plugin applies to a request that arrived on
// gateway port for host (the Host header, a port in it ignored) and was
// routed to route (a Route.ID). The chain calls it for every request; gwc
// routes and gwc explain call it to show which plugins run.
func (s *Spec) Selects(port int, host, route string) bool {
	if len(s.Matches) == 0 {
		return true
	}
	for i := range s.Matches {
		if s.Matches[i].Selects(port, host, route) {
			return true
		}
	}
	return false
}

// Selects reports whether this one match selects the request (see
// Spec.Selects).
func (s *Match) Selects(port int, host, route string) bool {
	if len(s.Routes) > 0 && !slices.Contains(s.Routes, route) {
		return false
	}
	if len(s.Ports) > 0 {
		ok := false
		for _, p := range s.Ports {
			if p == port {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(s.Hosts) == 0 {
		return true
	}
	host = stripPort(strings.ToLower(host))
	for _, h := range s.Hosts {
		switch {
		case h == "*" || h == host:
			return true
		case strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]):
			return true
		}
	}
	return false
}

func stripPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		return host[:i]
	}
	return host
}
