package main

import "fmt"

// scenario is one workload: the hosts and routes every target is configured
// with, and the requests wrk sends in turn.
type scenario struct {
	Name  string
	Title string
	// Exact and Wild are the virtual hosts; Wild holds suffixes ("w1.example.net"
	// for "*.w1.example.net").
	Exact, Wild []string
	// Routes are the routes of every host; none means one catch-all prefix "/".
	Routes []route
	// Requests are sent in turn, as "host path".
	Requests [][2]string
	// Close sends "Connection: close" (a new connection per request).
	Close bool
	// TLS serves the hosts over HTTPS (one throwaway certificate for every
	// target) and drives the targets with https:// URLs.
	TLS bool
	// Targets, when set, are the scenario's own targets instead of -targets.
	Targets []string
}

// route is one route: kind "exact", "prefix" or "regex" with its value.
type route struct{ Kind, Value string }

// scenarios returns the side-by-side scenarios in the order they run.
func scenarios() []scenario {
	single := []string{"bench.example.com"}
	one := [][2]string{{"bench.example.com", "/api/items"}}
	var s []scenario
	s = append(s, scenario{Name: "single", Title: "one host, keep-alive, 100 B", Exact: single, Requests: one})
	s = append(s, manyHosts(1000, 100))
	s = append(s, manyRoutes(10000))
	s = append(s, scenario{Name: "close", Title: "one host, new connection per request, 100 B", Exact: single, Requests: one, Close: true})
	s = append(s, scenario{Name: "big", Title: "one host, keep-alive, 1 MiB", Exact: single,
		Requests: [][2]string{{"bench.example.com", "/big/file"}}})
	s = append(s, scenario{Name: "https", Title: "one host, keep-alive, 100 B, HTTPS (ECDSA P-256 certificate)", Exact: single, Requests: one, TLS: true})
	s = append(s, scenario{Name: "tracing", Title: "one host, keep-alive, 100 B, gwc without tracing and with tracing at 1% and 100% (OTLP/gRPC to a sink)",
		Exact: single, Requests: one, Targets: []string{"gwc", "gwc-trace1", "gwc-trace100"}})
	return s
}

// manyHosts has exact hosts h0000.bench.example.com... and wildcards
// *.w000.bench.example.net...; requests alternate exact and wildcard hosts
// spread over the whole set.
func manyHosts(exact, wild int) scenario {
	s := scenario{Name: "hosts", Title: fmt.Sprintf("%d exact hosts + %d wildcards, keep-alive, 100 B", exact, wild)}
	for i := range exact {
		s.Exact = append(s.Exact, fmt.Sprintf("h%04d.bench.example.com", i))
	}
	for i := range wild {
		s.Wild = append(s.Wild, fmt.Sprintf("w%03d.bench.example.net", i))
	}
	for k := range 64 {
		if k%2 == 0 {
			s.Requests = append(s.Requests, [2]string{s.Exact[(k*exact/64+k)%exact], "/api/items"})
		} else {
			s.Requests = append(s.Requests, [2]string{"app." + s.Wild[(k*wild/64+k)%wild], "/api/items"})
		}
	}
	return s
}

// manyRoutes has one host with n routes cycling exact /e/I, prefix /p/I/
// and regex ^/r/I/[0-9]+$; requests hit routes spread over the table, a
// third of each kind.
func manyRoutes(n int) scenario {
	s := scenario{Name: "routes", Title: fmt.Sprintf("one host, %d routes (exact, prefix, regex), keep-alive, 100 B", n),
		Exact: []string{"routes.example.com"}}
	for i := range n {
		s.Routes = append(s.Routes, routeAt(i))
	}
	for k := range 30 {
		i := k * n / 30
		var path string
		switch routeAt(i).Kind {
		case "exact":
			path = fmt.Sprintf("/e/%d", i)
		case "prefix":
			path = fmt.Sprintf("/p/%d/item", i)
		default:
			path = fmt.Sprintf("/r/%d/42", i)
		}
		s.Requests = append(s.Requests, [2]string{"routes.example.com", path})
	}
	return s
}

func routeAt(i int) route {
	switch i % 3 {
	case 0:
		return route{"exact", fmt.Sprintf("/e/%d", i)}
	case 1:
		return route{"prefix", fmt.Sprintf("/p/%d/", i)}
	default:
		return route{"regex", fmt.Sprintf("/r/%d/[0-9]+", i)}
	}
}
