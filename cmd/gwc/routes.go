package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
)

// gwc routes: the compiled route tables in the order the binary tries
// them, read from the same runtime.Config the binary holds.

func runRoutes(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("routes", "[--format text|json] "+inputSynopsis+" PATH...")
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	input := addInputFlags(fs)
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "gwc routes: unknown format %q: use text or json\n", *format)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc routes: no input: name files or directories of resources")
		return 2
	}
	opts, ok := input.options(stderr, "routes")
	if !ok {
		return 2
	}
	irc, rc, code := compiledTablesWith(paths, opts, stderr)
	if rc == nil {
		return code
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(routeRows(irc, rc)); err != nil {
			fmt.Fprintf(stderr, "gwc routes: %v\n", err)
			return 1
		}
		return 0
	}
	specs := chainSpecs(rc)
	if len(specs) > 0 {
		printPluginChain(stdout, irc, specs)
	}
	if rc.Authz != nil {
		printAuthz(stdout, rc.Authz)
	}
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		fmt.Fprintf(stdout, "listener %s %s\n", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		for vi := range l.VirtualHosts {
			vh := &l.VirtualHosts[vi]
			fmt.Fprintf(stdout, "  host %s%s\n", vh.Domain, describeHostTLS(l, vh))
			if rl := vh.RateLimit; rl != nil {
				fmt.Fprintf(stdout, "    rate limit %d per %s, burst %d (%s)\n", rl.Requests, rl.Interval, rl.Burst, rl.ID)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			if len(specs) > 0 {
				fmt.Fprintln(tw, "    #\tMATCH\tACTION\tPLUGINS\tFROM")
			} else {
				fmt.Fprintln(tw, "    #\tMATCH\tACTION\tFROM")
			}
			for ri := range vh.Routes {
				rt := &vh.Routes[ri]
				if len(specs) > 0 {
					fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\t%s\n", ri, describeMatches(rc, rt), describeAction(rc, rt), describePlugins(routePlugins(specs, l, vi, rt)), rt.ID)
					continue
				}
				fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\n", ri, describeMatches(rc, rt), describeAction(rc, rt), rt.ID)
			}
			tw.Flush()
		}
		for ri := range l.L4 {
			fmt.Fprintf(stdout, "  connections %s\n", describeL4(rc, &l.L4[ri]))
		}
		for si := range l.TLS {
			if r := l.TLS[si].TCP; r != nil {
				fmt.Fprintf(stdout, "  connections terminated by %s: %s\n", l.TLS[si].ID, describeL4(rc, r))
			}
		}
	}
	return 0
}

// describeL4 says where a connection route sends connections.
func describeL4(rc *runtime.Config, r *runtime.L4Route) string {
	var dests []string
	for _, wc := range r.Clusters {
		dests = append(dests, fmt.Sprintf("%s (%d)", rc.Clusters[wc.Cluster].Name, wc.Weight))
	}
	s := "-> " + strings.Join(dests, ", ") + "  " + r.ID
	if len(r.SNI) > 0 {
		s = "sni " + strings.Join(r.SNI, ",") + " " + s
	}
	return s
}

// compiledTables compiles paths and builds the prepared runtime tables;
// on failure it prints the diagnostics and returns the exit status.
func compiledTables(paths []string, ns string, stderr io.Writer) (*ir.Config, *runtime.Config, int) {
	return compiledTablesWith(paths, compiler.Options{Namespace: ns}, stderr)
}

// compiledTablesWith is compiledTables with all of the pipeline's options.
func compiledTablesWith(paths []string, opts compiler.Options, stderr io.Writer) (*ir.Config, *runtime.Config, int) {
	cfg, diags := compileWith(paths, opts, io.Discard)
	if cfg == nil {
		printDiags(stderr, diags)
		return nil, nil, 1
	}
	rc, err := codegen.RuntimeConfig(cfg)
	if err == nil {
		err = rc.Prepare()
	}
	if err != nil {
		fmt.Fprintf(stderr, "gwc: building the route tables: %v\n", err)
		return nil, nil, 1
	}
	return cfg, rc, 0
}

// describeHostTLS says which TLS servers a virtual host answers for and
// whether it redirects plaintext requests to https.
func describeHostTLS(l *runtime.Listener, vh *runtime.VirtualHost) string {
	var s string
	if vh.RequireTLS {
		s += " (httpsRedirect: 301 to https)"
	}
	for _, si := range vh.TLSServers {
		if si >= 0 && si < len(l.TLS) {
			s += "\n    tls server " + l.TLS[si].ID
		}
	}
	return s
}

// describeMatches and describeAction print the runtime's description of
// a route, the one the admin /config_dump and /routes serve.
func describeMatches(rc *runtime.Config, rt *runtime.Route) string {
	return strings.Join(rc.DescribeRoute(rt).Matches, " | ")
}

func describeAction(rc *runtime.Config, rt *runtime.Route) string {
	return strings.Join(rc.DescribeRoute(rt).Action, "; ")
}

// routeRow is one route in `gwc routes --format json`.
type routeRow struct {
	Listener string   `json:"listener"`
	Protocol string   `json:"protocol"`
	Host     string   `json:"host"`
	Index    int      `json:"index"`
	From     string   `json:"from"`
	Matches  []string `json:"matches"`
	Action   string   `json:"action"`
	Servers  []string `json:"servers,omitempty"`
	// Plugins run in this order before the action.
	Plugins []routePlugin `json:"plugins,omitempty"`
}

func routeRows(irc *ir.Config, rc *runtime.Config) []routeRow {
	rows := []routeRow{}
	specs := chainSpecs(rc)
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		for vi := range l.VirtualHosts {
			vh := &l.VirtualHosts[vi]
			var servers []string
			for _, s := range irc.Listeners[li].VirtualHosts[vi].Servers {
				servers = append(servers, s.String())
			}
			for ri := range vh.Routes {
				rt := &vh.Routes[ri]
				row := routeRow{
					Listener: net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), Protocol: l.Protocol, Host: vh.Domain,
					Index: ri, From: rt.ID, Matches: []string{}, Action: describeAction(rc, rt), Servers: servers,
				}
				row.Matches = append(row.Matches, rc.DescribeRoute(rt).Matches...)
				row.Plugins = routePlugins(specs, l, vi, rt)
				rows = append(rows, row)
			}
		}
		// Connection routes: whole connections, by SNI on a TLS port.
		var l4 []*runtime.L4Route
		for ri := range l.L4 {
			l4 = append(l4, &l.L4[ri])
		}
		for si := range l.TLS {
			if r := l.TLS[si].TCP; r != nil {
				l4 = append(l4, r)
			}
		}
		for ri, r := range l4 {
			match := "any connection"
			if len(r.SNI) > 0 {
				match = "sni " + strings.Join(r.SNI, ",")
			}
			var dests []string
			for _, wc := range r.Clusters {
				dests = append(dests, fmt.Sprintf("%s (%d)", rc.Clusters[wc.Cluster].Name, wc.Weight))
			}
			rows = append(rows, routeRow{
				Listener: net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), Protocol: l.Protocol, Host: strings.Join(r.SNI, ","),
				Index: ri, From: r.ID, Matches: []string{match}, Action: "forward connections -> " + strings.Join(dests, ", "),
			})
		}
	}
	return rows
}

// printAuthz lists the AuthorizationPolicy rules in the order the gateway
// evaluates them, before any route.
func printAuthz(w io.Writer, a *runtime.Authz) {
	fmt.Fprintln(w, "authorization (before routing: CUSTOM, then DENY, then AUDIT, then ALLOW)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, g := range []struct {
		action string
		rules  []runtime.AuthzRule
	}{{"CUSTOM", a.Custom}, {"DENY", a.Deny}, {"AUDIT", a.Audit}, {"ALLOW", a.Allow}} {
		for i := range g.rules {
			r := &g.rules[i]
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", g.action, r.Name, r.Describe(), r.ID)
		}
	}
	tw.Flush()
	if a.AllowPolicies {
		fmt.Fprintln(w, "  (an ALLOW policy exists: a request no ALLOW rule matches is denied)")
	}
}
