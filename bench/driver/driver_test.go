package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// compileIR runs gwc's front end on dir and fails on any error.
func compileIR(t *testing.T, dir string) *ir.Config {
	t.Helper()
	res := compiler.Run([]string{dir}, compiler.Options{Namespace: "default"})
	if res.Config == nil {
		t.Fatalf("compile %s:\n%v", dir, res.Diags)
	}
	return res.Config
}

// compileDir compiles dir and counts its virtual hosts and routes.
func compileDir(t *testing.T, dir string) (vhosts, routes int) {
	t.Helper()
	cfg := compileIR(t, dir)
	for _, l := range cfg.Listeners {
		vhosts += len(l.VirtualHosts)
		for _, vh := range l.VirtualHosts {
			routes += len(vh.Routes)
		}
	}
	return vhosts, routes
}

// TestScenarioConfigs checks that the generated Istio resources compile to
// the hosts and routes the scenario asks for, and that every peer's
// configuration names them.
func TestScenarioConfigs(t *testing.T) {
	for _, s := range []scenario{manyHosts(20, 5), manyRoutes(30)} {
		t.Run(s.Name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeScenario(dir, s, defaultPorts); err != nil {
				t.Fatal(err)
			}
			vhosts, routes := compileDir(t, filepath.Join(dir, "istio"))
			wantRoutes := max(len(s.Routes), 1) * (len(s.Exact) + len(s.Wild))
			if vhosts != len(s.Exact)+len(s.Wild) || routes != wantRoutes {
				t.Errorf("compiled %d virtual hosts, %d routes; want %d, %d", vhosts, routes, len(s.Exact)+len(s.Wild), wantRoutes)
			}
			read := func(name string) string {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
			nginx, caddy, hosts := read("nginx.conf"), read("Caddyfile"), read("haproxy-hosts.lst")
			for _, h := range s.Exact {
				if !strings.Contains(nginx, " "+h) || !strings.Contains(caddy, "http://"+h+":") || !strings.Contains(hosts, h+"\n") {
					t.Errorf("host %s missing from a peer's configuration", h)
				}
			}
			if got := strings.Count(read("requests.txt"), "\n"); got != len(s.Requests) {
				t.Errorf("requests.txt has %d lines, want %d", got, len(s.Requests))
			}
			if len(s.Routes) > 0 {
				if got := strings.Count(nginx, "location ~ ^/r/"); got != len(s.Routes)/3 {
					t.Errorf("nginx.conf has %d regex locations, want %d", got, len(s.Routes)/3)
				}
			}
		})
	}
}

func TestSizeConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(sizeConfig(3, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if vhosts, routes := compileDir(t, dir); vhosts != 3 || routes != 12 {
		t.Errorf("compiled %d virtual hosts, %d routes; want 3, 12", vhosts, routes)
	}
}

func TestParseResult(t *testing.T) {
	out := "Running 5s test @ http://127.0.0.1:1/\nRESULT requests=50000 duration_us=5000000 p50_us=800 p99_us=2000 p999_us=9000 connect=1 read=2 write=0 status=3 timeout=4\n"
	s, err := parseResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.RPS != 10000 || s.P50 != 800*time.Microsecond || s.P99 != 2*time.Millisecond || s.P999 != 9*time.Millisecond || s.Errors != 10 {
		t.Errorf("parsed %+v", s)
	}
	if _, err := parseResult("wrk: connection refused"); err == nil {
		t.Error("no error for output without RESULT")
	}
}

func TestTable(t *testing.T) {
	res := map[string]map[string][]sample{"single": {
		"nginx": {{RPS: 100, P50: time.Millisecond, P99: 2 * time.Millisecond, P999: 3 * time.Millisecond, CPUPer10k: 1, PeakRSSKiB: 1024}},
		"gwc": {
			{RPS: 150, P50: time.Millisecond, P99: time.Millisecond, P999: time.Millisecond, CPUPer10k: 0.5, PeakRSSKiB: 512},
			{RPS: 300, P50: time.Millisecond, P99: time.Millisecond, P999: time.Millisecond, CPUPer10k: 0.5, PeakRSSKiB: 2048},
			{RPS: 200, P50: time.Millisecond, P99: time.Millisecond, P999: time.Millisecond, CPUPer10k: 0.5, PeakRSSKiB: 512, Errors: 2},
		},
		"direct": {{RPS: 400, CPUPer10k: -1}},
	}}
	var b strings.Builder
	printTable(&b, []scenario{{Name: "single"}}, []string{"gwc", "nginx", "direct"}, res)
	for _, want := range []string{
		"| single | gwc | 200 (2.00x) | 1.00 (1.00x) | 1.00 (0.50x) | 1.00 (0.33x) | 2 | 0.500 (0.50x) | 2.0 (2.00x) |",
		"| single | nginx | 100 (1.00x) |",
		"| single | direct | 400 (4.00x) |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestStepTimes(t *testing.T) {
	got := stepTimes("gwc: load+validate   3 resources   7.1ms\ngwc: compile  1 listener, 1 route  1.8ms\ngwc: generate 2 files 700µs\ngwc: go build        ingress     965.6ms\n")
	want := map[string]string{"load+validate": "7.1ms", "compile": "1.8ms", "generate": "700µs", "go build": "965.6ms"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("step %s = %q, want %q", k, got[k], v)
		}
	}
}
