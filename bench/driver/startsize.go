package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// run measures one command: wall time, peak RSS of it and its children,
// and its standard error.
func measure(argv ...string) (time.Duration, int64, string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	if err != nil {
		return wall, rss, errb.String(), fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, errb.String())
	}
	return wall, rss, errb.String(), nil
}

// stepTimes picks gwc's "gwc: STEP ... DURATION" lines.
func stepTimes(out string) map[string]string {
	steps := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "gwc: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		name := f[0]
		if name == "go" && len(f) > 1 {
			name = "go build"
		}
		steps[name] = f[len(f)-1]
	}
	return steps
}

func cmdStartSize(args []string) error {
	fs := flag.NewFlagSet("startsize", flag.ExitOnError)
	dir := fs.String("dir", "bench/out/size", "work `directory`")
	gwc := fs.String("gwc", "bin/gwc", "gwc `binary`")
	backendBin := fs.String("backend", "bench/out/backend", "backend `binary`")
	sizes := fs.String("sizes", "1,1000,10000", "comma-separated numbers of VirtualServices")
	starts := fs.Int("starts", 10, "cold starts per size (median)")
	fs.Parse(args)
	p := defaultPorts
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	backend, err := start("backend", *dir, "", nil, *backendBin, fmt.Sprintf("-addr=127.0.0.1:%d", p.Backend))
	if err != nil {
		return err
	}
	defer backend.stop()
	if err := waitReady(backend, fmt.Sprintf("127.0.0.1:%d", p.Backend), "b", "/", nil, 10*time.Second); err != nil {
		return err
	}

	fmt.Println("| VirtualServices | gwc vet wall | gwc vet peak RSS | load+validate | compile | generate | go build | gwc build wall | gwc build peak RSS | binary | cold start to first 200 (median) | idle RSS |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, n := range strings.Split(*sizes, ",") {
		var count int
		fmt.Sscan(n, &count)
		d := filepath.Join(*dir, fmt.Sprintf("vs-%d", count))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "resources.yaml"), []byte(sizeConfig(count, p.Backend)), 0o644); err != nil {
			return err
		}
		vetWall, vetRSS, _, err := measure(*gwc, "vet", d)
		if err != nil {
			return err
		}
		bin := filepath.Join(*dir, fmt.Sprintf("ingress-%d", count))
		buildWall, buildRSS, out, err := measure(*gwc, "build", "-o", bin, d)
		if err != nil {
			return err
		}
		steps := stepTimes(out)
		st, err := os.Stat(bin)
		if err != nil {
			return err
		}
		cold, idle, err := coldStarts(*dir, bin, count, *starts, p)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %s | %.0f MiB | %s | %s | %s | %s | %s | %.0f MiB | %.1f MiB | %s | %.1f MiB |\n", count,
			vetWall.Round(time.Millisecond), float64(vetRSS)/1024, steps["load+validate"], steps["compile"], steps["generate"], steps["go build"],
			buildWall.Round(time.Millisecond), float64(buildRSS)/1024, float64(st.Size())/(1<<20), cold, float64(idle)/1024)
	}
	return nil
}

// coldStarts execs the ingress n times and returns the median time from
// exec to the first proxied 200, and the RSS a second after it.
func coldStarts(dir, bin string, hosts, n int, p ports) (time.Duration, int64, error) {
	var times []time.Duration
	var idle int64
	host := "s00000.size.example.com"
	for i := range n {
		t0 := time.Now()
		pr, err := start("ingress-start", dir, "", nil, bin, fmt.Sprintf("--listen=80=127.0.0.1:%d", p.GWC),
			"--status-addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		err = waitFirst200(fmt.Sprintf("127.0.0.1:%d", p.GWC), host, 10*time.Second)
		times = append(times, time.Since(t0))
		if err == nil && i == n-1 {
			time.Sleep(time.Second)
			idle = memKiB(pr.cmd.Process.Pid, "VmRSS")
		}
		pr.stop()
		if err != nil {
			return 0, 0, fmt.Errorf("ingress with %d hosts: %w", hosts, err)
		}
	}
	return median(times).Round(100 * time.Microsecond), idle, nil
}
