package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/runtime"
)

// gwc routes: the compiled route tables in the order the binary tries
// them, read from the same runtime.Config the binary holds.

func runRoutes(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("routes", "[--format text|json] [--namespace NS] PATH...")
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	ns := fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace")
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
	irc, rc, code := compiledTables(paths, *ns, stderr)
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
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		fmt.Fprintf(stdout, "listener %s %s\n", net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)), l.Protocol)
		for vi := range l.VirtualHosts {
			vh := &l.VirtualHosts[vi]
			if vh.RequireTLS {
				fmt.Fprintf(stdout, "  host %s (httpsRedirect: plain HTTP gets 301 to https)\n", vh.Domain)
			} else {
				fmt.Fprintf(stdout, "  host %s\n", vh.Domain)
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
					fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\t%s\n", ri, describeMatches(rt), describeAction(rc, rt), describePlugins(routePlugins(specs, l, vi, rt)), rt.ID)
					continue
				}
				fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\n", ri, describeMatches(rt), describeAction(rc, rt), rt.ID)
			}
			tw.Flush()
		}
		printConnectionRoutes(stdout, rc, l)
	}
	return 0
}

// printConnectionRoutes prints the tcp and tls (passthrough) rules of a
// listener, which take whole connections: by SNI, else the first.
func printConnectionRoutes(w io.Writer, rc *runtime.Config, l *runtime.Listener) {
	if len(l.L4) == 0 {
		return
	}
	fmt.Fprintln(w, "  connections")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    #\tSNI\tACTION\tFROM")
	for i := range l.L4 {
		r := &l.L4[i]
		sni := "any"
		if len(r.SNI) > 0 {
			sni = strings.Join(r.SNI, ", ")
		}
		fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\n", i, sni, describeAction(rc, &runtime.Route{Clusters: r.Clusters}), r.ID)
	}
	tw.Flush()
}

// compiledTables compiles paths and builds the prepared runtime tables;
// on failure it prints the diagnostics and returns the exit status.
func compiledTables(paths []string, ns string, stderr io.Writer) (*ir.Config, *runtime.Config, int) {
	cfg, diags := compile(paths, ns, io.Discard)
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

func describeMatches(rt *runtime.Route) string {
	if len(rt.Matches) == 0 {
		return "any"
	}
	var parts []string
	for i := range rt.Matches {
		parts = append(parts, rt.Matches[i].Describe())
	}
	return strings.Join(parts, " | ")
}

// describeAction says what a route does, one line.
func describeAction(rc *runtime.Config, rt *runtime.Route) string {
	var parts []string
	if c := rt.CORS; c != nil {
		parts = append(parts, "cors")
	}
	if f := rt.Fault; f != nil {
		if f.Delay > 0 {
			parts = append(parts, fmt.Sprintf("delay %s at %v%%", f.Delay, f.DelayPercent))
		}
		if f.AbortStatus > 0 {
			parts = append(parts, fmt.Sprintf("abort %d at %v%%", f.AbortStatus, f.AbortPercent))
		} else if f.AbortGRPC >= 0 {
			parts = append(parts, fmt.Sprintf("abort grpc-status %d at %v%%", f.AbortGRPC, f.AbortPercent))
		}
	}
	switch {
	case rt.Redirect != nil:
		rd := rt.Redirect
		target := rd.Path
		if rd.RewritePrefix {
			target = rd.MatchedPrefix + "* -> " + rd.PrefixRewrite + "*"
		}
		parts = append(parts, fmt.Sprintf("redirect %d scheme=%s authority=%s port=%d path=%s", rd.Code, orKeep(rd.Scheme), orKeep(rd.Authority), rd.Port, orKeep(target)))
	case rt.DirectResponse != nil:
		parts = append(parts, fmt.Sprintf("direct response %d (%d bytes)", rt.DirectResponse.Status, len(rt.DirectResponse.Body)))
	default:
		if rw := rt.Rewrite; rw != nil {
			switch {
			case rw.URI != "" && rw.WholePath:
				parts = append(parts, "rewrite path to "+rw.URI)
			case rw.URI != "":
				parts = append(parts, fmt.Sprintf("rewrite prefix %s to %s", rw.MatchedPrefix, rw.URI))
			case rw.RegexMatch != "":
				parts = append(parts, fmt.Sprintf("rewrite %q to %q", rw.RegexMatch, rw.RegexSubst))
			}
			if rw.Authority != "" {
				parts = append(parts, "authority "+rw.Authority)
			}
		}
		var dests []string
		for _, wc := range rt.Clusters {
			dests = append(dests, fmt.Sprintf("%s (%d)", rc.Clusters[wc.Cluster].Name, wc.Weight))
		}
		parts = append(parts, "-> "+strings.Join(dests, ", "))
		for _, m := range rt.Mirrors {
			parts = append(parts, fmt.Sprintf("mirror %s at %v%%", rc.Clusters[m.Cluster].Name, m.Percent))
		}
		if rt.Timeout > 0 {
			parts = append(parts, "timeout "+rt.Timeout.String())
		}
		if p := rt.Retry; p != nil {
			if p.Attempts == 0 {
				parts = append(parts, "no retries")
			} else {
				parts = append(parts, fmt.Sprintf("retries %d on %s%s", p.Attempts, strings.Join(p.On, ","), codes(p.StatusCodes)))
				if p.PerTryTimeout > 0 {
					parts = append(parts, "per try "+p.PerTryTimeout.Round(time.Millisecond).String())
				}
			}
		}
	}
	return strings.Join(parts, "; ")
}

func codes(cs []int) string {
	if len(cs) == 0 {
		return ""
	}
	var s []string
	for _, c := range cs {
		s = append(s, strconv.Itoa(c))
	}
	return " (" + strings.Join(s, ",") + ")"
}

func orKeep(s string) string {
	if s == "" {
		return "(kept)"
	}
	return s
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
				for mi := range rt.Matches {
					row.Matches = append(row.Matches, rt.Matches[mi].Describe())
				}
				row.Plugins = routePlugins(specs, l, vi, rt)
				rows = append(rows, row)
			}
		}
	}
	return rows
}
