package runtime

import (
	"bytes"
	"io"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
)

// addMetricsRoutes serves the Prometheus exposition at Istio's scrape path.
func (g *gateway) addMetricsRoutes(mux *http.ServeMux) {
	if g.obs == nil {
		return
	}
	mux.Handle("GET /stats/prometheus", g.obs.metrics.handler())
}

// addAdminRoutes serves the admin endpoints beyond the foundation's:
// /routes, /stats, /stats/prometheus, /server_info and, with --admin-pprof,
// Go's profiler.
func (g *gateway) addAdminRoutes(mux *http.ServeMux) {
	g.addMetricsRoutes(mux)
	mux.HandleFunc("GET /routes", g.serveRoutes)
	mux.HandleFunc("GET /stats", g.serveStats)
	mux.HandleFunc("GET /server_info", g.serveServerInfo)
	if g.opts.obs.pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

// adminIndexExtra lists the endpoints addAdminRoutes adds, for the index.
const adminIndexExtra = "/routes       every listener's virtual hosts and routes, in match order\n" +
	"/stats        every metric, one sample a line\n" +
	"/stats/prometheus  the same in Prometheus exposition format\n" +
	"/server_info  version, build digest, state, uptime\n"

// serveRoutes writes the route tables: the config dump without clusters.
func (g *gateway) serveRoutes(w http.ResponseWriter, _ *http.Request) {
	addrs := make([]string, len(g.listeners))
	for i, ln := range g.listeners {
		addrs[i] = ln.Addr().String()
	}
	d := dumpOf(g.cfg, addrs)
	writeJSON(w, map[string]any{"listeners": d.Listeners})
}

// serveStats writes every sample as "name{labels} value", sorted, as
// Envoy's /stats does for its own counters.
func (g *gateway) serveStats(w http.ResponseWriter, _ *http.Request) {
	if g.obs == nil {
		http.Error(w, "metrics are off", http.StatusNotFound)
		return
	}
	mfs, err := g.obs.metrics.reg.Gather()
	if err != nil {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var lines []string
	var buf bytes.Buffer
	for _, mf := range mfs {
		buf.Reset()
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			continue
		}
		for l := range strings.SplitSeq(buf.String(), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, strings.Join(lines, "\n")+"\n")
}

var startTime = time.Now()

func (g *gateway) serveServerInfo(w http.ResponseWriter, _ *http.Request) {
	state := map[int32]string{stateStarting: "PRE_INITIALIZING", stateReady: "LIVE", stateDraining: "DRAINING"}[g.state.Load()]
	info := map[string]any{
		"state":          state,
		"uptime_seconds": int64(time.Since(startTime).Seconds()),
		"digest":         g.cfg.Digest,
		"sources":        g.cfg.Sources,
		"go_version":     runtime.Version(),
		"gwc_runtime":    runtimeVersion(),
	}
	writeJSON(w, info)
}

// runtimeVersion is the version of the gwc module the binary was built
// with, as its build information records it.
func runtimeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
		if m.Path == "github.com/gwc-dev/gwc" {
			return m.Version
		}
	}
	return "unknown"
}
