package runtime

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// options are the binary's command-line settings.
type options struct {
	statusAddr   string
	adminAddr    string
	drainTimeout time.Duration
	// credentialsDir holds the credentials named by credentialName.
	credentialsDir string
	// listen maps a Gateway port to the address its listener binds.
	listen listenFlag
	// obs holds the observability and limit flags (obsOptions).
	obs obsOptions
	// topology is the compiled Topology with the flags' overrides.
	topology Topology
	// up holds the upstream flags (upstream_flags.go).
	up upstreamOptions
	// handover holds the socket handover flags (listen_handover.go).
	handover handoverOptions
}

// listenFlag collects --listen PORT=ADDR.
type listenFlag map[int]string

func (f listenFlag) String() string {
	ports := make([]int, 0, len(f))
	for p := range f {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = strconv.Itoa(p) + "=" + f[p]
	}
	return strings.Join(parts, ",")
}

func (f listenFlag) Set(v string) error {
	port, addr, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want PORT=ADDR, e.g. 80=:8080")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if _, dup := f[n]; dup {
		return fmt.Errorf("port %d given twice", n)
	}
	f[n] = addr
	return nil
}

// parseFlags parses args. It returns flag.ErrHelp after printing the help
// for --help, and a usage error (already printed with the usage) otherwise.
func parseFlags(cfg *Config, args []string, stderr io.Writer) (*options, error) {
	o := &options{listen: listenFlag{}}
	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.statusAddr, "status-addr", ":15021",
		"address of the status server (Istio's status port): GET /healthz/ready is 200 once every listener is bound, 503 while draining; empty disables it")
	fs.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:15000",
		"address of the admin server: /config_dump, /clusters, /healthz/ready; keep it private; empty disables it")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second,
		"on SIGTERM or SIGINT, how long in-flight requests may take to finish before connections are closed")
	fs.StringVar(&o.credentialsDir, "credentials-dir", "/etc/gwc/credentials",
		"directory of the TLS credentials a Gateway server names by credentialName: NAME/tls.crt, NAME/tls.key and, for mutual TLS, NAME/ca.crt or NAME-cacert/ca.crt "+
			"(mount each Kubernetes TLS Secret at DIR/NAME); files are re-read when they change, and only files inside DIR are read (a name or symbolic link leading out of it is refused)")
	fs.Var(o.listen, "listen",
		"`PORT=ADDR`: bind the listener of Gateway port PORT on ADDR instead of :PORT (repeatable). "+
			"Use it when the pod's port differs from the Gateway port (Istio listens on the Service's targetPort, e.g. 80=:8080), "+
			"or to pick the interface or an ephemeral port (80=127.0.0.1:0)")
	o.obs.register(fs)
	if cfg != nil {
		o.topology = cfg.Topology
	}
	registerTopology(fs, &o.topology)
	o.up.register(fs)
	if cfg != nil && cfg.Discovery != nil {
		cfg.Discovery.RegisterFlags(fs)
	}
	o.handover.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n\n", fs.Name())
		fmt.Fprintf(stderr, "Serves the ingress configuration compiled into this binary by gwc, as the Istio ingress gateway would.\n")
		fmt.Fprintf(stderr, "Gateway ports:%s\n\nFlags:\n", portList(cfg))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return nil, err
	}
	if o.drainTimeout < 0 {
		err := errors.New("--drain-timeout must not be negative")
		fmt.Fprintln(stderr, err)
		return nil, err
	}
	if err := o.topology.check(); err != nil {
		fmt.Fprintln(stderr, err)
		return nil, err
	}
	if err := o.obs.check(); err != nil {
		fmt.Fprintln(stderr, err)
		return nil, err
	}
	if err := o.up.check(); err != nil {
		fmt.Fprintln(stderr, err)
		return nil, err
	}
	for port := range o.listen {
		if !hasPort(cfg, port) {
			err := fmt.Errorf("--listen %d: no listener on Gateway port %d (ports:%s)", port, port, portList(cfg))
			fmt.Fprintln(stderr, err)
			return nil, err
		}
	}
	return o, nil
}

// addrFor returns where listener l binds.
func (o *options) addrFor(l *Listener) string {
	if a, ok := o.listen[l.Port]; ok {
		return a
	}
	return net.JoinHostPort(l.Bind, strconv.Itoa(l.Port))
}

func hasPort(cfg *Config, port int) bool {
	if cfg == nil {
		return false
	}
	for _, l := range cfg.Listeners {
		if l.Port == port {
			return true
		}
	}
	return false
}

func portList(cfg *Config) string {
	if cfg == nil || len(cfg.Listeners) == 0 {
		return " none"
	}
	var b strings.Builder
	for _, l := range cfg.Listeners {
		fmt.Fprintf(&b, " %d (%s)", l.Port, l.Protocol)
	}
	return b.String()
}

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
	requestTimeout    time.Duration
	streamIdleTimeout time.Duration
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
	const headersUsage = "how long a client may take to send a request's headers from its first byte (Envoy's request_headers_timeout; slowloris protection); 0 disables it"
	fs.DurationVar(&o.headerReadTimeout, "request-headers-timeout", 10*time.Second, headersUsage)
	fs.DurationVar(&o.headerReadTimeout, "header-read-timeout", 10*time.Second, "the same as --request-headers-timeout (its earlier name)")
	fs.DurationVar(&o.streamIdleTimeout, "stream-idle-timeout", 0,
		"how long a proxied request may move no byte either way (Envoy's stream_idle_timeout; 408 before a response, else the stream ends); 0, Istio's default at gateways, is no bound; 5m is Istio's EDGE profile")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 0,
		"how long a client may take to send a whole request, body included, from its first byte (Envoy's request_timeout; 408 past it); 0, Istio's default, is no bound; 5m is Istio's EDGE profile")
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
	if o.headerReadTimeout < 0 || o.idleTimeout < 0 || o.requestTimeout < 0 || o.streamIdleTimeout < 0 {
		return errors.New("--request-headers-timeout, --request-timeout, --stream-idle-timeout and --idle-timeout must not be negative")
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
