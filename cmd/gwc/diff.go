package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/runtime"
)

// gwc diff: the routing difference between two configurations as
// behaviour: listeners, hosts and routes added or removed, requests that
// now go elsewhere (generated from the matchers, diffprobe.go, and run
// through both tables as gwc test runs them), and rules that became
// unreachable. Exit 0 when no behaviour changed, 1 when some did, 2 on
// errors.

const diffSynopsis = "[--format text|json] " + inputSynopsis + " OLD... -- NEW... | --rev REV PATH..."

func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("diff", diffSynopsis)
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	input := addInputFlags(fs)
	rev := fs.String("rev", "", "compare PATH... at git revision `REV` (OLD) with the working tree (NEW)")
	before, after, split := cutArgs(args, "--")
	oldPaths, code, ok := parseFlags(fs, before, stderr)
	if !ok {
		return code
	}
	var newPaths []string
	if split {
		if newPaths, code, ok = parseFlags(fs, after, stderr); !ok {
			return code
		}
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "gwc diff: unknown format %q: use text or json\n", *format)
		return 2
	}
	opts, ok := input.options(stderr, "diff")
	if !ok {
		return 2
	}
	var oldName string
	switch {
	case *rev != "" && !split && len(oldPaths) > 0:
		dir, cleanup, err := checkoutRev(*rev, oldPaths)
		if err != nil {
			fmt.Fprintf(stderr, "gwc diff: %v\n", err)
			return 2
		}
		defer cleanup()
		newPaths = oldPaths
		oldPaths = dir.paths
		oldName = dir.root
	case *rev == "" && split && len(oldPaths) > 0 && len(newPaths) > 0:
	default:
		fmt.Fprintln(stderr, "gwc diff: want OLD... -- NEW..., or --rev REV PATH...")
		return 2
	}
	oldRC, oldDiags := diffTables(oldPaths, opts, stderr)
	if oldRC == nil {
		fmt.Fprintln(stderr, "gwc diff: OLD does not compile")
		return 2
	}
	newRC, newDiags := diffTables(newPaths, opts, stderr)
	if newRC == nil {
		fmt.Fprintln(stderr, "gwc diff: NEW does not compile")
		return 2
	}
	d := diffConfigs(oldRC, newRC)
	d.Unreachable = append(unreachableRules(newDiags, oldDiags), d.Unreachable...)
	if oldName != "" {
		d.renameOld(oldName+"/", *rev+":")
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			fmt.Fprintf(stderr, "gwc diff: %v\n", err)
			return 2
		}
	} else {
		d.print(stdout)
	}
	if d.changed() {
		return 1
	}
	return 0
}

// diffTables compiles paths into prepared runtime tables, printing the
// diagnostics on failure; it returns the diagnostics too, for the rules
// the analyzers find unreachable.
func diffTables(paths []string, opts compiler.Options, stderr io.Writer) (*runtime.Config, diag.List) {
	cfg, diags := compileWith(paths, opts, io.Discard)
	if cfg == nil {
		printDiags(stderr, diags)
		return nil, nil
	}
	rc, err := codegen.RuntimeConfig(cfg)
	if err == nil {
		err = rc.Prepare()
	}
	if err != nil {
		fmt.Fprintf(stderr, "gwc: building the route tables: %v\n", err)
		return nil, nil
	}
	return rc, diags
}

// unreachableRules are the rules the analyzers find unreachable or
// ineffective in NEW (IST0130, IST0131; the compiler leaves rules after a
// catch-all out of the tables, as istiod does) and not in OLD, compared
// without their positions.
func unreachableRules(newDiags, oldDiags diag.List) []string {
	key := func(d diag.Diagnostic) string { return d.Resource + " " + d.Field + ": " + d.Message }
	old := map[string]bool{}
	for _, d := range oldDiags {
		old[key(d)] = true
	}
	var out []string
	for _, d := range newDiags {
		if (d.Code == diag.CodeUnreachableRule || d.Code == diag.CodeIneffectiveMatch) && !old[key(d)] {
			out = append(out, d.Pos.String()+" "+key(d))
		}
	}
	return out
}

// cutArgs splits args at the first sep.
func cutArgs(args []string, sep string) ([]string, []string, bool) {
	if i := slices.Index(args, sep); i >= 0 {
		return args[:i], args[i+1:], true
	}
	return args, nil, false
}

// routingDiff is the report, as --format json prints it.
type routingDiff struct {
	ListenersAdded   []string `json:"listenersAdded"`
	ListenersRemoved []string `json:"listenersRemoved"`
	HostsAdded       []string `json:"hostsAdded"`
	HostsRemoved     []string `json:"hostsRemoved"`
	RoutesAdded      []string `json:"routesAdded"`
	RoutesRemoved    []string `json:"routesRemoved"`
	Moved            []moved  `json:"moved"`
	Unreachable      []string `json:"unreachable"`
}

// moved is a request whose outcome changed: the first request found for
// one pair of rules (old, new), and how many more moved the same way.
type moved struct {
	Request string  `json:"request"`
	Old     outcome `json:"old"`
	New     outcome `json:"new"`
	More    int     `json:"more"`

	probe probe // the request, for the property test
}

func (d *routingDiff) changed() bool {
	return len(d.ListenersAdded)+len(d.ListenersRemoved)+len(d.HostsAdded)+len(d.HostsRemoved)+
		len(d.RoutesAdded)+len(d.RoutesRemoved)+len(d.Moved)+len(d.Unreachable) > 0
}

func diffConfigs(oldRC, newRC *runtime.Config) *routingDiff {
	d := &routingDiff{}
	ol, nl := listenerKeys(oldRC), listenerKeys(newRC)
	d.ListenersAdded, d.ListenersRemoved = setDiff(nl, ol)
	oh, nh := hostKeys(oldRC), hostKeys(newRC)
	d.HostsAdded, d.HostsRemoved = setDiff(nh, oh)
	or, nr := routeKeys(oldRC), routeKeys(newRC)
	d.RoutesAdded, d.RoutesRemoved = multisetDiff(nr, or)

	groups := map[string]int{}
	for _, p := range probes(oldRC, newRC) {
		oldReq, port, err := testHTTPRequest(p.req)
		if err != nil {
			continue
		}
		newReq, _, _ := testHTTPRequest(p.req)
		o, n := resolve(oldRC, oldReq, port), resolve(newRC, newReq, port)
		if behaviour(&o) == behaviour(&n) {
			continue
		}
		// One report per pair of rules (or of reasons, when no rule took it).
		g := strconv.Itoa(port) + " " + o.Host + "|" + o.Rule + o.Reason + "|" + n.Host + "|" + n.Rule + n.Reason
		if i, ok := groups[g]; ok {
			d.Moved[i].More++
			continue
		}
		groups[g] = len(d.Moved)
		d.Moved = append(d.Moved, moved{Request: describeTestRequest(p.req), Old: o, New: n, probe: p})
	}
	oldUnreach := map[string]bool{}
	for _, u := range unreachable(oldRC) {
		oldUnreach[u.key] = true
	}
	for _, u := range unreachable(newRC) {
		if !oldUnreach[u.key] {
			d.Unreachable = append(d.Unreachable, u.text)
		}
	}
	return d
}

// behaviour is what a client and the upstreams see of an outcome: all of
// it but the rule's name, so that a rule moved within its file or to
// another file is no change.
func behaviour(o *outcome) string {
	c := *o
	c.Rule = ""
	b, _ := json.Marshal(c)
	return string(b)
}

func listenerName(l *runtime.Listener) string {
	return net.JoinHostPort(l.Bind, strconv.Itoa(l.Port)) + " " + l.Protocol
}

func listenerKeys(rc *runtime.Config) []string {
	var keys []string
	for li := range rc.Listeners {
		keys = append(keys, listenerName(&rc.Listeners[li]))
	}
	return keys
}

func hostKeys(rc *runtime.Config) []string {
	var keys []string
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		for _, vh := range l.VirtualHosts {
			keys = append(keys, listenerName(l)+" "+vh.Domain)
		}
		for _, r := range l.L4 {
			keys = append(keys, listenerName(l)+" connections "+orDefault(strings.Join(r.SNI, ","), "any"))
		}
	}
	return keys
}

// routeKeys are the routes by what they match and do, each with its rule
// after a tab (left out of the comparison).
func routeKeys(rc *runtime.Config) []string {
	var keys []string
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		for vi := range l.VirtualHosts {
			vh := &l.VirtualHosts[vi]
			for ri := range vh.Routes {
				keys = append(keys, listenerName(l)+" "+vh.Domain+"  "+rc.DescribeRoute(&vh.Routes[ri]).String()+"\t"+vh.Routes[ri].ID)
			}
		}
		for ri := range l.L4 {
			r := &l.L4[ri]
			o := outcome{Connection: true}
			o.connection(rc, r)
			keys = append(keys, listenerName(l)+" sni "+orDefault(strings.Join(r.SNI, ","), "any")+"  "+o.summary()+"\t"+r.ID)
		}
	}
	return keys
}

func setDiff(a, b []string) (added, removed []string) {
	added, removed = []string{}, []string{}
	for _, k := range a {
		if !slices.Contains(b, k) && !slices.Contains(added, k) {
			added = append(added, k)
		}
	}
	for _, k := range b {
		if !slices.Contains(a, k) && !slices.Contains(removed, k) {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// multisetDiff compares keys without their rule (after the tab), as
// multisets; the entries keep their rule, as "key (rule)".
func multisetDiff(a, b []string) (added, removed []string) {
	count := func(l []string) map[string]int {
		m := map[string]int{}
		for _, k := range l {
			s, _, _ := strings.Cut(k, "\t")
			m[s]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	pick := func(l []string, mine, other map[string]int) []string {
		out := []string{}
		for _, k := range l {
			s, rule, _ := strings.Cut(k, "\t")
			if mine[s] > other[s] {
				mine[s]--
				out = append(out, s+"  ("+rule+")")
			}
		}
		slices.Sort(out)
		return out
	}
	return pick(a, ca, cb), pick(b, cb, ca)
}

type unreachableRule struct{ key, text string }

// unreachable lists the routes no request reaches: every request their
// own matches accept (of those generated) is taken by an earlier route.
// A route whose generated requests its own matches do not accept (a
// regex the generator cannot satisfy) is not judged.
func unreachable(rc *runtime.Config) []unreachableRule {
	var out []unreachableRule
	for li := range rc.Listeners {
		l := &rc.Listeners[li]
		scheme := "http"
		if len(l.TLS) > 0 {
			scheme = "https"
		}
		for vi := range l.VirtualHosts {
			vh := &l.VirtualHosts[vi]
			base := testRequest{Scheme: scheme, Authority: probeHost(vh.Domain), Port: l.Port}
			for ri := range vh.Routes {
				rt := &vh.Routes[ri]
				judged, reached, takenBy := false, false, -1
				for _, r := range matchRequests(base, rt) {
					req, _, err := testHTTPRequest(r)
					if err != nil || !routeAccepts(rt, req) {
						continue
					}
					judged = true
					if got := vh.Select(req); got == ri {
						reached = true
						break
					} else if takenBy < 0 {
						takenBy = got
					}
				}
				if !judged || reached || takenBy < 0 {
					continue
				}
				key := listenerName(l) + " " + vh.Domain + "  " + rc.DescribeRoute(rt).String()
				out = append(out, unreachableRule{key: key, text: fmt.Sprintf("%s %s route %d (%s): every request it matches is taken by route %d (%s)",
					listenerName(l), vh.Domain, ri, rt.ID, takenBy, vh.Routes[takenBy].ID)})
			}
		}
	}
	return out
}

// routeAccepts reports whether the route's own matches accept req.
func routeAccepts(rt *runtime.Route, req *http.Request) bool {
	if len(rt.Matches) == 0 {
		return true
	}
	for i := range rt.Matches {
		if rt.Matches[i].Matches(req) {
			return true
		}
	}
	return false
}

// renameOld replaces the temporary checkout directory in OLD's rule IDs
// with the revision, so that the report reads "main:config/vs.yaml:12:5".
func (d *routingDiff) renameOld(dir, rev string) {
	fix := func(s string) string { return strings.ReplaceAll(s, dir, rev) }
	for i := range d.RoutesRemoved {
		d.RoutesRemoved[i] = fix(d.RoutesRemoved[i])
	}
	for i := range d.Moved {
		d.Moved[i].Old.Rule = fix(d.Moved[i].Old.Rule)
	}
}

func (d *routingDiff) print(w io.Writer) {
	section := func(title string, lines []string, mark string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for _, l := range lines {
			fmt.Fprintf(w, "  %s %s\n", mark, l)
		}
	}
	section("listeners added", d.ListenersAdded, "+")
	section("listeners removed", d.ListenersRemoved, "-")
	section("hosts added", d.HostsAdded, "+")
	section("hosts removed", d.HostsRemoved, "-")
	section("routes added", d.RoutesAdded, "+")
	section("routes removed", d.RoutesRemoved, "-")
	if len(d.Moved) > 0 {
		fmt.Fprintln(w, "requests that now go elsewhere")
		for _, m := range d.Moved {
			more := ""
			if m.More > 0 {
				more = fmt.Sprintf("  (and %s moved the same way)", plural(m.More, "other request"))
			}
			fmt.Fprintf(w, "  %s%s\n", m.Request, more)
			fmt.Fprintf(w, "    old  %s\n", describeOutcome(&m.Old))
			fmt.Fprintf(w, "    new  %s\n", describeOutcome(&m.New))
		}
	}
	section("rules unreachable in NEW", d.Unreachable, "!")
	if !d.changed() {
		fmt.Fprintln(w, "gwc diff: no behaviour change")
		return
	}
	fmt.Fprintf(w, "gwc diff: %s moved, %s unreachable, %s added, %s removed\n",
		plural(len(d.Moved), "request"), plural(len(d.Unreachable), "rule"),
		plural(len(d.RoutesAdded), "route"), plural(len(d.RoutesRemoved), "route"))
}

// describeOutcome is an outcome with the action and the rule responsible.
func describeOutcome(o *outcome) string {
	s := o.summary()
	if o.Action != "" && o.Status == 0 {
		s = o.Action
	}
	if o.Rule != "" {
		s += "  by " + o.Rule
	}
	return s
}
