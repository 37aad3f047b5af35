// Command soak drives a long mixed load through one ingress binary and
// checks that it gives back what it took: `make soak` runs it (see
// docs/operations.md, "Soak"). It builds a Gateway with an HTTP and an
// HTTPS port in front of two backends it serves itself on 127.0.0.1, one of
// which it closes and restarts over and over, sends -requests requests
// mixing HTTP/1.1 keep-alive and new connections, TLS, HTTP/2 over TLS and
// h2c and clients that hang up mid-request, and reads the binary's
// goroutines (go_goroutines on the status port), open file descriptors and
// RSS (/proc) before, at peak and after an idle spell. It exits 1 when a
// request that should have succeeded failed, or when after idle the binary
// holds more than 10 goroutines, 10 file descriptors or 16 MiB over its
// baseline.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Bounds on what the binary may hold after idle over its baseline.
const (
	slackGoroutines = 10
	slackFDs        = 10
	slackRSS        = 16 << 20
)

type options struct {
	gwc         string
	requests    int64
	conns       int
	warmup      int64
	idleMax     time.Duration
	flakyPeriod time.Duration
	dir         string
}

func main() {
	var o options
	flag.StringVar(&o.gwc, "gwc", "bin/gwc", "gwc `binary` that builds the ingress")
	flag.Int64Var(&o.requests, "requests", 1_000_000, "requests to send")
	flag.IntVar(&o.conns, "conns", 32, "concurrent clients")
	flag.Int64Var(&o.warmup, "warmup", 20_000, "requests sent before the baseline is read, so the upstream pools are as full as the load keeps them")
	flag.DurationVar(&o.idleMax, "idle", 4*time.Minute, "longest idle spell to wait for the binary to come back to its baseline")
	flag.DurationVar(&o.flakyPeriod, "flaky-period", 5*time.Second, "how often the flaky backend is closed (and restarted 1s later)")
	flag.StringVar(&o.dir, "dir", "", "work `directory` (default: a new temporary one, removed at the end)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.dir == "" {
		d, err := os.MkdirTemp("", "gwc-soak")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	}
	gwc, err := filepath.Abs(o.gwc)
	if err != nil {
		return err
	}
	o.gwc = gwc

	stable, err := startBackend("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stable.close()
	flaky, err := newFlaky()
	if err != nil {
		return err
	}
	defer flaky.stop()
	tlsCert, err := writeCredential(filepath.Join(o.dir, "credentials", "soak-cred"))
	if err != nil {
		return err
	}
	bin, err := buildIngress(o, stable.port, flaky.port)
	if err != nil {
		return err
	}
	in, err := startIngress(bin, filepath.Join(o.dir, "credentials"), filepath.Join(o.dir, "ingress.log"))
	if err != nil {
		return err
	}
	defer in.stop()

	cold, err := in.sample()
	if err != nil {
		return err
	}
	cl := newClients(in, tlsCert)
	fmt.Printf("soak: warming up with %d requests on %d clients\n", o.warmup, o.conns)
	if _, err := drive(cl, o.warmup, o.conns, nil); err != nil {
		return err
	}
	cl.closeIdle()
	time.Sleep(3 * time.Second)
	base, err := in.sample()
	if err != nil {
		return err
	}

	go flaky.cycle(o.flakyPeriod)
	peak := base
	stopPeak := make(chan struct{})
	peakDone := make(chan struct{})
	go func() {
		defer close(peakDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopPeak:
				return
			case <-t.C:
				if s, err := in.sample(); err == nil {
					peak = peak.max(s)
				}
			}
		}
	}()
	fmt.Printf("soak: %d requests on %d clients\n", o.requests, o.conns)
	start := time.Now()
	tally, err := drive(cl, o.requests, o.conns, flaky)
	elapsed := time.Since(start)
	close(stopPeak)
	<-peakDone
	flaky.stop()
	if err != nil {
		return err
	}
	cl.closeIdle()

	idleStart := time.Now()
	var after sample
	for {
		time.Sleep(5 * time.Second)
		if after, err = in.sample(); err != nil {
			return err
		}
		// Judge after 30 s at the least, so that a quiet moment between
		// timers does not pass for the end state.
		if idle := time.Since(idleStart); idle >= 30*time.Second && after.within(base) || idle >= o.idleMax {
			break
		}
	}
	idle := time.Since(idleStart).Round(time.Second)

	fmt.Println()
	tally.print(os.Stdout, elapsed)
	fmt.Println()
	fmt.Printf("%-22s %10s %6s %10s\n", "", "goroutines", "fds", "RSS MiB")
	for _, r := range []struct {
		name string
		s    sample
	}{{"cold start", cold}, {"baseline (warm)", base}, {"peak", peak}, {"after " + idle.String() + " idle", after}} {
		fmt.Printf("%-22s %10d %6d %10.1f\n", r.name, r.s.goroutines, r.s.fds, float64(r.s.rss)/(1<<20))
	}
	var failed []string
	if n := tally.failures(); n > 0 {
		failed = append(failed, fmt.Sprintf("%d requests that should have succeeded failed (first: %s)", n, tally.firstFailure))
	}
	if !after.within(base) {
		failed = append(failed, fmt.Sprintf("after idle the binary holds %+d goroutines, %+d fds, %+.1f MiB over its baseline (bounds %d, %d, %d MiB)",
			after.goroutines-base.goroutines, after.fds-base.fds, float64(after.rss-base.rss)/(1<<20), slackGoroutines, slackFDs, slackRSS>>20))
	}
	if code := in.exitCode(); code >= 0 {
		failed = append(failed, fmt.Sprintf("the ingress exited (%d) during the soak; its log: %s", code, in.logPath))
	}
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(os.Stderr, "soak: FAIL:", f)
		}
		os.Exit(1)
	}
	fmt.Println("soak: PASS")
	return nil
}
