// Command driver runs gwc's side-by-side benchmarks: it generates the same
// workload's configuration for the ingress, nginx, HAProxy and Caddy, starts
// them next to one fixed backend, drives each with wrk in alternation and
// prints one table; "startsize" measures cold start, idle memory, binary size
// and build cost. bench/run.sh installs what it needs and calls it; see
// docs/benchmarks.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: driver run|startsize|gen|coldstart [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "startsize":
		err = cmdStartSize(os.Args[2:])
	case "gen":
		err = cmdGen(os.Args[2:])
	case "coldstart":
		err = cmdColdStart(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver: %v\n", err)
		os.Exit(1)
	}
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	o := runOptions{Ports: defaultPorts}
	fs.StringVar(&o.Dir, "dir", "bench/out", "work `directory`")
	fs.StringVar(&o.GWC, "gwc", "bin/gwc", "gwc `binary`")
	fs.StringVar(&o.GWCBase, "gwc-base", "", "another gwc `binary` whose build the tracing scenario also measures (gwc-base)")
	fs.StringVar(&o.Backend, "backend", "bench/out/backend", "backend `binary`")
	fs.StringVar(&o.WrkScript, "wrk-script", "bench/wrk.lua", "wrk Lua `script`")
	fs.IntVar(&o.Rounds, "rounds", 3, "rounds per scenario (every target once per round)")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "length of one wrk run")
	fs.IntVar(&o.Conns, "conns", 64, "wrk connections")
	fs.StringVar(&o.ProxyCPUs, "proxy-cpus", "1", "taskset CPU list of the target (empty: no pinning)")
	fs.StringVar(&o.LoadCPUs, "load-cpus", "0", "taskset CPU list of wrk and the backend (empty: no pinning)")
	scen := fs.String("scenarios", "single,hosts,routes,close,big,https,tracing", "comma-separated `scenarios`")
	targets := fs.String("targets", "gwc,nginx,haproxy,caddy,direct", "comma-separated `targets`")
	fs.Parse(args)
	o.Targets = strings.Split(*targets, ",")
	o.Scenarios = strings.Split(*scen, ",")
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	if d, err := filepath.Abs(o.Dir); err == nil {
		o.Dir = d
	}

	backend, err := start("backend", o.Dir, o.LoadCPUs, []string{"GOMAXPROCS=1"}, o.Backend, fmt.Sprintf("-addr=127.0.0.1:%d", o.Ports.Backend))
	if err != nil {
		return err
	}
	defer backend.stop()
	if err := waitReady(backend, fmt.Sprintf("127.0.0.1:%d", o.Ports.Backend), "backend", "/", nil, 10*time.Second); err != nil {
		return err
	}

	if containsString(o.Scenarios, "tracing") {
		if _, err := startSink(fmt.Sprintf("127.0.0.1:%d", o.Ports.OTLP)); err != nil {
			return err
		}
	}
	var order []scenario
	results := map[string]map[string][]sample{}

	for _, s := range scenarios() {
		if !containsString(o.Scenarios, s.Name) {
			continue
		}
		if s.Name == "tracing" && o.GWCBase != "" {
			s.Targets = append([]string{"gwc-base"}, s.Targets...)
		}
		fmt.Fprintf(os.Stderr, "scenario %s: %s\n", s.Name, s.Title)
		res, err := runScenario(o, s)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		order = append(order, s)
		results[s.Name] = res
	}
	fmt.Printf("\n%d rounds of %s per target, %d connections, target on CPU %q, wrk and backend on CPU %q; medians, ratios to nginx\n\n",
		o.Rounds, o.Duration, o.Conns, o.ProxyCPUs, o.LoadCPUs)
	for _, s := range order {
		fmt.Printf("- %s: %s\n", s.Name, s.Title)
	}
	fmt.Println()
	printTable(os.Stdout, order, append(o.Targets, "gwc-base", "gwc-trace1", "gwc-trace100"), results)
	return nil
}

// contains reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cmdGen writes every scenario's configuration under DIR/SCENARIO, as run
// would, for profiling or for reading.
func cmdGen(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: driver gen DIR")
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	for _, s := range scenarios() {
		if err := writeScenario(filepath.Join(dir, s.Name), s, defaultPorts); err != nil {
			return err
		}
	}
	return nil
}

// cmdColdStart measures the cold start of an ingress built from the
// start-and-size configuration (host s00000.size.example.com), for
// comparing two builds of the same configuration.
func cmdColdStart(args []string) error {
	fs := flag.NewFlagSet("coldstart", flag.ExitOnError)
	dir := fs.String("dir", "bench/out/size", "work `directory` (logs)")
	backendBin := fs.String("backend", "bench/out/backend", "backend `binary`")
	n := fs.Int("n", 10, "cold starts (median)")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: driver coldstart [flags] INGRESS...")
	}
	p := defaultPorts
	backend, err := start("backend", *dir, "", nil, *backendBin, fmt.Sprintf("-addr=127.0.0.1:%d", p.Backend))
	if err != nil {
		return err
	}
	defer backend.stop()
	if err := waitReady(backend, fmt.Sprintf("127.0.0.1:%d", p.Backend), "b", "/", nil, 10*time.Second); err != nil {
		return err
	}
	for _, bin := range fs.Args() {
		cold, idle, err := coldStarts(*dir, bin, 0, *n, p)
		if err != nil {
			return err
		}
		fmt.Printf("%s: cold start to first 200 %s (median of %d), idle RSS %.1f MiB\n", bin, cold, *n, float64(idle)/1024)
	}
	return nil
}
