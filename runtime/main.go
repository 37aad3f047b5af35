package runtime

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
)

// Main runs the ingress for cfg with the command-line arguments args (without
// the program name) until SIGTERM or SIGINT, then drains and returns the exit
// status: 0 after a drain, 1 when the configuration is invalid or a socket
// cannot be bound or served, 2 for a usage error. Further signals during the
// drain change nothing: requests in flight finish within --drain-timeout
// (Kubernetes sends SIGKILL after terminationGracePeriodSeconds, the one
// hard stop).
func Main(cfg *Config, args []string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sigs
		cancel()
		for range sigs {
			// Already draining; the signal is swallowed.
		}
	}()
	return Run(ctx, cfg, args, os.Stderr)
}

// Run is Main without the signal handling: it serves until ctx is done, then
// drains. It logs to stderr with log/slog's text format; once every socket is
// bound it logs one line per socket ("listener bound" with port and addr,
// "status server bound", "admin server bound", each with the real address
// when port 0 was asked) and then "ready".
func Run(ctx context.Context, cfg *Config, args []string, stderr io.Writer) int {
	return run(ctx, cfg, args, stderr, nil)
}

// run is Run with readiness conditions beyond the runtime's own (see
// gateway.readyWhen).
func run(ctx context.Context, cfg *Config, args []string, stderr io.Writer, readyWhen []func(context.Context) error) int {
	opts, err := parseFlags(cfg, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := opts.obs.newLogger(stderr)
	if cfg == nil {
		log.Error("invalid configuration", "err", "no configuration")
		return 1
	}
	if err := cfg.Prepare(); err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	cfg.credentialsDir = opts.credentialsDir
	cfg.Topology = opts.topology
	cfg.resolver = newResolver(opts.up.dnsServers)
	if err := checkUpstreamTLS(cfg); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if cfg.Plugins != nil {
		if err := cfg.Plugins.Start(log); err != nil {
			log.Error("cannot start", "err", err)
			cfg.Plugins.Stop()
			return 1
		}
		defer cfg.Plugins.Stop() // after the drain: the last request is done
	}
	if cfg.Tracing != nil {
		if err := cfg.Tracing.Start(log, opts.obs.workload, opts.obs.namespace); err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
		defer flushTraces(cfg.Tracing, log) // after the drain: the last span is ended
	}
	if a, ok := cfg.Authn.(AuthnStarter); ok {
		a.Start(log)
		defer a.Stop()
	}
	g := &gateway{cfg: cfg, opts: opts, log: log, readyWhen: readyWhen}
	if err := g.loadCredentials(); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if g.obs, err = newObserver(cfg, &opts.obs, log); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer g.obs.close()
	if err := g.bind(); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	g.serveErrors = make(chan error, len(g.listeners)+2)
	if g.takeover == nil {
		// Probes and metrics answer from here on: 503 until ready, while
		// endpoint discovery syncs too. Taking over, the old process
		// answers them until this one is ready.
		g.serveStatus()
	}
	// Readiness waits for endpoint discovery's first sync, bounded.
	if err := startDiscovery(ctx, cfg, log); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if cfg.Discovery != nil {
		defer cfg.Discovery.Stop()
	}
	stop := make(chan struct{})
	defer close(stop)
	g.engine = newEngine(cfg, log, stop)
	g.engine.attachDiscovery()
	g.engine.streamIdle = opts.obs.streamIdleTimeout
	g.engine.mirrors.limit.Store(int64(opts.up.maxMirrors))
	g.obs.attach(g.engine)
	g.started.Store(true)
	go newEndpointWatch(g.engine.ups, log).run(stop)
	return g.serve(ctx)
}

// Readiness states.
const (
	stateStarting int32 = iota
	stateReady
	stateDraining
)

// gateway is one run of the ingress: its sockets, servers and state.
type gateway struct {
	cfg    *Config
	opts   *options
	log    *slog.Logger
	engine *engine
	// started is set once engine exists and endpoint discovery's first
	// sync settled the clusters: the admin endpoints that describe them
	// wait for it.
	started atomic.Bool
	state   atomic.Int32
	obs     *observer

	listeners   []net.Listener // as cfg.Listeners
	statusLn    net.Listener   // nil when disabled
	adminLn     net.Listener   // nil when disabled
	servers     []*httpServer  // the HTTP listeners
	terminators []*terminator  // as cfg.Listeners; nil for plaintext
	l4          []*l4Server    // the TCP and TLS passthrough listeners
	statusSrv   *http.Server
	adminSrv    *http.Server
	serveErrors chan error

	// readyWhen are the conditions the gateway waits for once its sockets
	// are bound and before it serves traffic (and, taking over, before it
	// tells the old process to drain). Each returns once its condition
	// holds, or with an error that fails the start; all get the run's
	// context.
	readyWhen []func(context.Context) error
	// takeover is the old process this one takes over from, until ready
	// (--takeover); handover serves this process's own successor
	// (--handover-socket); handedOver is set once one took over.
	takeover   *takeover
	handover   *handoverServer
	handedOver bool
}

// bind opens every socket before anything is served, so a start either
// serves everything or nothing. Sockets systemd passed or the old process
// hands over (--takeover) are taken first; the rest are bound here.
func (g *gateway) bind() (err error) {
	in, err := g.inheritedSockets()
	if err != nil {
		return err
	}
	var opened []net.Listener
	from := map[net.Listener]string{}
	defer func() {
		if err == nil {
			return
		}
		for _, ln := range opened {
			ln.Close()
		}
		for _, s := range in.left() {
			s.ln.Close()
		}
		if g.takeover != nil {
			g.takeover.fail(err)
			g.takeover = nil
		}
	}()
	listen := func(what, name string, port int, addr string) (net.Listener, error) {
		if ln := in.take(name, port, addr); ln != nil {
			opened = append(opened, ln)
			from[ln] = in.from
			return ln, nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("binding %s on %s: %w", what, addr, err)
		}
		opened = append(opened, ln)
		return ln, nil
	}
	for i := range g.cfg.Listeners {
		l := &g.cfg.Listeners[i]
		ln, err := listen(fmt.Sprintf("listener for port %d", l.Port), socketName(l), l.Port, g.opts.addrFor(l))
		if err != nil {
			return err
		}
		g.listeners = append(g.listeners, ln)
	}
	if a := g.opts.statusAddr; a != "" {
		if g.statusLn, err = listen("status server", "status", 0, a); err != nil {
			return err
		}
	}
	if a := g.opts.adminAddr; a != "" {
		if g.adminLn, err = listen("admin server", "admin", 0, a); err != nil {
			return err
		}
	}
	if path := g.opts.handover.socketPath(); path != "" {
		ln, err := listenHandover(path, in, g.log)
		if err != nil {
			return err
		}
		opened = append(opened, ln)
		g.handover = &handoverServer{g: g, path: path, ln: ln, given: make(chan struct{})}
	}
	if g.takeover != nil {
		for _, s := range in.socks {
			if s.taken {
				g.takeover.taken = append(g.takeover.taken, handoverSocket{Name: s.name, Addr: s.addr})
			}
		}
	}
	for _, s := range in.left() {
		// Taking over, the old process closes these after its drain.
		g.log.Info("inherited socket not served by this configuration", "name", s.name, "addr", s.ln.Addr().String(), "from", in.from)
		s.ln.Close()
	}
	bound := func(msg string, ln net.Listener, args ...any) {
		args = append(args, "addr", ln.Addr().String())
		if f := from[ln]; f != "" {
			args = append(args, "from", f)
		}
		g.log.Info(msg, args...)
	}
	for i, ln := range g.listeners {
		bound("listener bound", ln, "port", g.cfg.Listeners[i].Port)
	}
	if g.statusLn != nil {
		bound("status server bound", g.statusLn)
	}
	if g.adminLn != nil {
		bound("admin server bound", g.adminLn)
	}
	return nil
}

// inheritedSockets returns the sockets systemd passed and, with
// --takeover, the old process's.
func (g *gateway) inheritedSockets() (*inherited, error) {
	in, err := systemdSockets()
	if err != nil {
		return nil, err
	}
	if path := g.opts.handover.takeover; path != "" {
		got, t, err := g.takeOver(path)
		if err != nil {
			for _, s := range in.left() {
				s.ln.Close()
			}
			return nil, err
		}
		g.takeover = t
		if in != nil {
			got.socks = append(got.socks, in.socks...)
		}
		in = got
	}
	return in, nil
}

// serve serves until ctx is done or a server fails, then drains.
func (g *gateway) serve(ctx context.Context) int {
	for _, ready := range g.readyWhen {
		if err := ready(ctx); err != nil {
			return g.notReady(ctx, err)
		}
	}
	for i, ln := range g.listeners {
		if l := &g.cfg.Listeners[i]; l.Protocol == "TCP" || l.Protocol == "TLS" {
			s := newL4Server(l, g.engine, g.log)
			s.m = g.obs.tcpMetrics()
			g.l4 = append(g.l4, s)
			go func() {
				if err := s.serve(g.gatewayListener(ln)); err != nil {
					g.serveErrors <- err
				}
			}()
			continue
		}
		var connCtx func(context.Context, net.Conn) context.Context
		if g.terminators[i] != nil {
			connCtx = withTerminated
		}
		srv := newHTTPServer(edgeRequest{h: g.obs.wrap(&listenerHandler{l: &g.cfg.Listeners[i], e: g.engine}, ln.Addr().String()), trustedHops: g.cfg.Topology.NumTrustedProxies}, connCtx, g.log)
		g.opts.obs.applyLimits(srv)
		local := ln.Addr().String()
		srv.h1.Rejected = func(c net.Conn, status int, details string) { g.obs.rejected(c, status, details, local) }
		srv.socket = socketName(&g.cfg.Listeners[i])
		g.servers = append(g.servers, srv)
		if t := g.terminators[i]; t != nil {
			var l4 *l4Server
			if l := &g.cfg.Listeners[i]; len(l.L4) > 0 || slices.ContainsFunc(l.TLS, func(s ServerTLS) bool { return s.TCP != nil }) {
				l4 = newL4Server(&g.cfg.Listeners[i], g.engine, g.log)
				l4.m = g.obs.tcpMetrics()
				g.l4 = append(g.l4, l4)
			}
			go g.runHTTP(srv, newTLSListener(g.gatewayListener(ln), t, l4, g.log))
			continue
		}
		go g.runHTTP(srv, g.gatewayListener(ln))
	}
	if g.takeover != nil {
		// The old process answers probes until this one is ready.
		g.serveStatus()
	}
	g.state.Store(stateReady)
	g.log.Info("ready", "version", runtimeVersion(), "digest", g.cfg.Digest)
	var given chan struct{}
	if g.handover != nil {
		given = g.handover.given
		go g.handover.serve()
	}
	if g.takeover != nil {
		g.takeover.ready(g)
		g.takeover = nil
	}

	code := 0
	select {
	case <-ctx.Done():
	case err := <-g.serveErrors:
		g.log.Error("serving failed", "err", err)
		code = 1
	case <-given:
		g.handedOver = true
	}
	if g.handover != nil {
		g.handover.close(g.handedOver && g.handover.successorServes)
	}
	g.drain()
	return code
}

// serveStatus starts the status and admin servers.
func (g *gateway) serveStatus() {
	if g.statusLn != nil {
		g.statusSrv = newStatusServer(g)
		go g.run(g.statusSrv, g.statusLn)
	}
	if g.adminLn != nil {
		g.adminSrv = newAdminServer(g)
		go g.run(g.adminSrv, g.adminLn)
	}
}

// notReady ends a start whose readiness condition failed (or that was
// stopped while waiting for one): nothing served traffic yet, and an old
// process being taken over keeps serving.
func (g *gateway) notReady(ctx context.Context, err error) int {
	code := 0
	if ctx.Err() == nil {
		g.log.Error("not ready", "err", err)
		code = 1
	}
	taking := g.takeover != nil
	if taking {
		g.takeover.fail(fmt.Errorf("not ready: %w", err))
		g.takeover = nil
	}
	for _, ln := range g.listeners {
		ln.Close()
	}
	if g.handover != nil {
		g.handover.close(taking) // the old process still serves it
	}
	g.drain()
	return code
}

func (g *gateway) runHTTP(srv *httpServer, ln net.Listener) {
	if err := srv.serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		g.serveErrors <- err
	}
}

func (g *gateway) run(srv *http.Server, ln net.Listener) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		g.serveErrors <- err
	}
}
