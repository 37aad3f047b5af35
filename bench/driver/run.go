package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// runOptions are the settings of a side-by-side run.
type runOptions struct {
	Dir string // work directory: generated configs, logs, binaries
	GWC string // the gwc binary
	// GWCBase, when set, is another gwc binary whose build of the same
	// resources the tracing scenario measures too ("gwc-base"): e.g. a
	// gwc from before tracing existed, against "gwc" with tracing off.
	GWCBase   string
	Backend   string // the backend binary
	WrkScript string
	Rounds    int
	Duration  time.Duration
	Conns     int
	// ProxyCPUs and LoadCPUs pin the target, and wrk with the backend, to
	// separate cores ("" leaves them unpinned).
	ProxyCPUs, LoadCPUs string
	Ports               ports
	Scenarios, Targets  []string
}

// sample is one wrk run against one target.
type sample struct {
	RPS             float64
	P50, P99, P999  time.Duration
	Errors          int64
	Requests        int64
	CPUPer10k       float64 // target CPU seconds per 10,000 requests; <0 if not measured
	PeakRSSKiB      int64
	DurationSeconds float64
}

// target is one thing under load.
type target struct {
	name  string
	port  int
	proc  *proc // nil for "direct": the backend is measured without a proxy
	setup func(dir string) (*proc, error)
}

var resultRE = regexp.MustCompile(`RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) p999_us=(\d+) connect=(\d+) read=(\d+) write=(\d+) status=(\d+) timeout=(\d+)`)

// parseResult reads the RESULT line that bench/wrk.lua prints.
func parseResult(out string) (sample, error) {
	m := resultRE.FindStringSubmatch(out)
	if m == nil {
		return sample{}, errors.New("no RESULT line in wrk's output")
	}
	n := make([]int64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseInt(m[i], 10, 64)
	}
	s := sample{
		Requests:        n[1],
		DurationSeconds: float64(n[2]) / 1e6,
		P50:             time.Duration(n[3]) * time.Microsecond,
		P99:             time.Duration(n[4]) * time.Microsecond,
		P999:            time.Duration(n[5]) * time.Microsecond,
		Errors:          n[6] + n[7] + n[8] + n[9] + n[10],
		CPUPer10k:       -1,
	}
	if s.DurationSeconds > 0 {
		s.RPS = float64(s.Requests) / s.DurationSeconds
	}
	return s, nil
}

// wrk runs one bounded load of scenario s against port.
func wrk(o runOptions, dir string, port int, s scenario, d time.Duration) (sample, error) {
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	argv := []string{"wrk", "-t1", fmt.Sprintf("-c%d", o.Conns), fmt.Sprintf("-d%ds", int(d.Seconds())),
		"--timeout", "5s", "-s", o.WrkScript, fmt.Sprintf("%s://127.0.0.1:%d/", scheme, port), "--", filepath.Join(dir, "requests.txt")}
	if s.Close {
		argv = append(argv, "close")
	}
	if o.LoadCPUs != "" {
		argv = append([]string{"taskset", "-c", o.LoadCPUs}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseResult(string(out))
}

// startTargets starts every proxy for scenario s, configured from dir.
func startTargets(o runOptions, s scenario, dir string) (map[string]*proc, error) {
	procs := map[string]*proc{}
	gomax := []string{"GOMAXPROCS=1"}
	p := o.Ports
	var clientConf *tls.Config
	if s.TLS {
		var err error
		if clientConf, err = clientTLS(dir, s.Requests[0][0]); err != nil {
			return procs, err
		}
	}
	for _, t := range scenarioTargets(o.Targets, s) {
		var pr *proc
		var err error
		switch t {
		case "direct":
			continue
		case "gwc-trace1", "gwc-trace100":
			pr, err = startTraced(o, dir, t, targetPort(p, t))
		case "gwc-base":
			pr, err = startBase(o, dir, targetPort(p, t))
		case "gwc":
			bin := filepath.Join(dir, "ingress")
			if out, berr := exec.Command(o.GWC, "build", "-o", bin, filepath.Join(dir, "istio")).CombinedOutput(); berr != nil {
				return procs, fmt.Errorf("gwc build for %s: %v\n%s", s.Name, berr, out)
			}
			listen := fmt.Sprintf("--listen=80=127.0.0.1:%d", p.GWC)
			if s.TLS {
				listen = fmt.Sprintf("--listen=443=127.0.0.1:%d", p.GWC)
			}
			pr, err = start("gwc", dir, o.ProxyCPUs, gomax, bin, listen, "--credentials-dir="+certPaths(dir).CredsDir,
				fmt.Sprintf("--status-addr=127.0.0.1:%d", p.Status), fmt.Sprintf("--admin-addr=127.0.0.1:%d", p.Admin))
		case "nginx":
			pr, err = start("nginx", dir, o.ProxyCPUs, nil, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir, "-e", filepath.Join(dir, "nginx-error.log"))
		case "haproxy":
			pr, err = start("haproxy", dir, o.ProxyCPUs, nil, "haproxy", "-db", "-f", filepath.Join(dir, "haproxy.cfg"))
		case "caddy":
			pr, err = start("caddy", dir, o.ProxyCPUs, append(gomax, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir), "caddy", "run", "--adapter", "caddyfile", "--config", filepath.Join(dir, "Caddyfile"))
		default:
			return procs, fmt.Errorf("unknown target %q", t)
		}
		if err != nil {
			return procs, err
		}
		procs[t] = pr
		if err := waitReady(pr, fmt.Sprintf("127.0.0.1:%d", targetPort(p, t)), s.Requests[0][0], s.Requests[0][1], clientConf, 60*time.Second); err != nil {
			return procs, fmt.Errorf("%w (see %s)", err, filepath.Join(dir, t+".log"))
		}
	}
	return procs, nil
}

func targetPort(p ports, t string) int {
	switch t {
	case "gwc":
		return p.GWC
	case "nginx":
		return p.Nginx
	case "haproxy":
		return p.HAProxy
	case "caddy":
		return p.Caddy
	case "gwc-trace1":
		return p.GWCTrace1
	case "gwc-trace100":
		return p.GWCTrace100
	case "gwc-base":
		return p.GWCBase
	}
	return p.Backend
}

// runScenario measures every target for s, alternating targets within each
// round (and rotating who goes first) so that drift of a shared machine
// hits all alike.
func runScenario(o runOptions, s scenario) (map[string][]sample, error) {
	dir := filepath.Join(o.Dir, s.Name)
	if err := writeScenario(dir, s, o.Ports); err != nil {
		return nil, err
	}
	procs, err := startTargets(o, s, dir)
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	// Warm up: fill connection pools, caches and the Go heaps.
	for _, t := range scenarioTargets(o.Targets, s) {
		if _, err := wrk(o, dir, targetPort(o.Ports, t), s, time.Second); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", t, err)
		}
	}
	targets := scenarioTargets(o.Targets, s)
	out := map[string][]sample{}
	for r := range o.Rounds {
		for k := range targets {
			t := targets[(k+r)%len(targets)]
			pr := procs[t]
			var before int64
			if pr != nil {
				before = cpuTicks(pr.cmd.Process.Pid)
			}
			smp, err := wrk(o, dir, targetPort(o.Ports, t), s, o.Duration)
			if err != nil {
				return nil, fmt.Errorf("%s round %d: %w", t, r+1, err)
			}
			if pr != nil && smp.Requests > 0 {
				ticks := cpuTicks(pr.cmd.Process.Pid) - before
				smp.CPUPer10k = float64(ticks) / 100 / float64(smp.Requests) * 10000
				smp.PeakRSSKiB = memKiB(pr.cmd.Process.Pid, "VmHWM")
			}
			fmt.Fprintf(os.Stderr, "  %-8s %-8s round %d: %8.0f req/s p99 %v errors %d\n", s.Name, t, r+1, smp.RPS, smp.P99, smp.Errors)
			out[t] = append(out[t], smp)
		}
	}
	return out, nil
}

// scenarioTargets are the targets that can run s: "direct" speaks only
// cleartext HTTP (the backend has no certificate), so a TLS scenario leaves
// it out.
func scenarioTargets(targets []string, s scenario) []string {
	if s.Targets != nil {
		return s.Targets
	}
	if !s.TLS {
		return targets
	}
	var out []string
	for _, t := range targets {
		if t != "direct" {
			out = append(out, t)
		}
	}
	return out
}
