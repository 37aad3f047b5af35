// Package runtime is the engine every gwc-generated ingress binary links:
// it serves a compiled Config as the Istio ingress gateway (Envoy as istiod
// configures it) would.
//
// Generated code imports it as gwcrt, declares the configuration as a Go
// literal of the types in config.go and calls Main:
//
//	var _ = gwcrt.SupportPackageIsVersion1
//	var config = &gwcrt.Config{...}
//	func main() { os.Exit(gwcrt.Main(config, os.Args[1:])) }
//
// What it provides:
//
//   - start-up: Config.Prepare checks the tables and compiles matchers;
//     every socket is bound before anything is served (Run, Main);
//   - HTTP listeners: HTTP/1.1 by gwc's own strict engine
//     (internal/http1), HTTP/2 and h2c by net/http's; virtual host by Host header through
//     the generated host tables, Envoy path normalisation, first matching
//     route (VirtualHost.Select, Match.Matches; `gwc explain` uses the same
//     methods), Envoy's local replies (404, 426, 503 ...);
//   - forwarding: bodiless requests on the lean path and the forwarder
//     (proxy_lean.go, upstream_*.go) on the handler's goroutine, the rest through
//     httputil.ReverseProxy and http.Transport; Istio's headers
//     (x-forwarded-for, x-forwarded-proto, x-request-id,
//     x-envoy-attempt-count, server, x-envoy-upstream-service-time),
//     weighted clusters, Istio's load balancers (LEAST_REQUEST by default),
//     DNS endpoints kept fresh, and Istio's default retry policy;
//   - admission before routing (admit.go): request authentication, then
//     the AuthorizationPolicies compiled into tables (authz.go: CUSTOM
//     through Config.ExtAuthz, which runtime/extauthz implements, then
//     DENY, AUDIT, ALLOW), then each host's local rate limit
//     (ratelimit.go);
//   - endpoint sets that change at run time (upstream_discovery.go): DNS
//     answers and, in a binary built with --endpoints kubernetes, the
//     EndpointSlices that package runtime/kubernetes watches, both swapped
//     in whole through one mechanism;
//   - the status port (readiness), an admin port (config dump, clusters) and
//     a graceful drain on SIGTERM.
//   - observability (exchange.go, observer.go): Istio's standard metrics at
//     /stats/prometheus (metrics.go), Envoy-style access logs with response
//     flags (accesslog.go), admin /routes, /stats, /server_info, pprof
//     (admin.go), structured logs; response compression per route
//     (proxy_compress.go); connection, header and timeout limits
//     (listen_limits.go).
//
// Files are named by the layer of the request path they belong to:
// listen_* (sockets, TLS, the HTTP servers), proxy_* (a routed request),
// upstream_* (clusters, load balancing, connections to endpoints); leaves
// with narrow interfaces are under internal/ (http1, the HTTP/1.1 engine;
// pathnorm, Envoy's path normalisation; dns, the stub resolver that gives
// DNS endpoints their TTL).
package runtime
