package runtime

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// obsOptions are the flags for observability and the limits that protect
// the process.
type obsOptions struct {
	accessLog       string
	accessLogFormat string
	logFormat       string
	workload        string
	namespace       string
	pprof           bool

	headerReadTimeout time.Duration
	idleTimeout       time.Duration
	maxHeaderBytes    int
	maxConnections    int
}

func (o *obsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.accessLog, "access-log", "",
		"write an access log line per request to `PATH` (\"-\" for stdout), as Istio's meshConfig.accessLogFile; off when empty")
	fs.StringVar(&o.accessLogFormat, "access-log-format", "text",
		"access log format: text (Envoy's default format as Istio sets it) or json (Istio's JSON keys)")
	fs.StringVar(&o.logFormat, "log-format", "text", "format of the process's own log on stderr: text or json")
	fs.StringVar(&o.workload, "workload", "istio-ingressgateway",
		"the gateway's workload name, reported as source_workload in metrics")
	fs.StringVar(&o.namespace, "workload-namespace", "istio-system",
		"the gateway's namespace, reported as source_workload_namespace in metrics")
	fs.BoolVar(&o.pprof, "admin-pprof", false, "serve Go's profiler under /debug/pprof/ on the admin port")
	fs.DurationVar(&o.headerReadTimeout, "header-read-timeout", 10*time.Second,
		"how long a client may take to send a request's headers once it started (slowloris protection); 0 disables it")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", time.Hour,
		"how long a keep-alive connection may stay idle (Envoy's idle_timeout as Istio sets it)")
	fs.IntVar(&o.maxHeaderBytes, "max-header-bytes", 60<<10,
		"largest request header block accepted (Envoy's max_request_headers_kb, 60KiB); larger gets 431")
	fs.IntVar(&o.maxConnections, "max-connections", 0,
		"most connections each listener keeps open at once; past it a new connection gets 503 and is closed; 0 for no limit")
}

// check validates the values; the error names the flag.
func (o *obsOptions) check() error {
	switch o.accessLogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--access-log-format %q: want text or json", o.accessLogFormat)
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.headerReadTimeout < 0 || o.idleTimeout < 0 {
		return errors.New("--header-read-timeout and --idle-timeout must not be negative")
	}
	if o.maxHeaderBytes < 1024 {
		return fmt.Errorf("--max-header-bytes %d: want at least 1024", o.maxHeaderBytes)
	}
	if o.maxConnections < 0 {
		return errors.New("--max-connections must not be negative")
	}
	return nil
}

// newLogger returns the process log on w in the chosen format.
func (o *obsOptions) newLogger(w io.Writer) *slog.Logger {
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
