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
	g := &gateway{cfg: cfg, opts: opts, log: log}
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
	stop := make(chan struct{})
	defer close(stop)
	g.engine = newEngine(cfg, log, stop)
	g.engine.streamIdle = opts.obs.streamIdleTimeout
	g.engine.mirrors.limit.Store(int64(opts.up.maxMirrors))
	g.obs.attach(g.engine)
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
	state  atomic.Int32
	obs    *observer

	listeners   []net.Listener // as cfg.Listeners
	statusLn    net.Listener   // nil when disabled
	adminLn     net.Listener   // nil when disabled
	servers     []*httpServer  // the HTTP listeners
	terminators []*terminator  // as cfg.Listeners; nil for plaintext
	l4          []*l4Server    // the TCP and TLS passthrough listeners
	statusSrv   *http.Server
	adminSrv    *http.Server
	serveErrors chan error
}

// bind opens every socket before anything is served, so a start either
// serves everything or nothing.
func (g *gateway) bind() error {
	var opened []net.Listener
	fail := func(what, addr string, err error) error {
		for _, ln := range opened {
			ln.Close()
		}
		return fmt.Errorf("binding %s on %s: %w", what, addr, err)
	}
	for i := range g.cfg.Listeners {
		l := &g.cfg.Listeners[i]
		addr := g.opts.addrFor(l)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Sprintf("listener for port %d", l.Port), addr, err)
		}
		opened = append(opened, ln)
		g.listeners = append(g.listeners, ln)
	}
	if a := g.opts.statusAddr; a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fail("status server", a, err)
		}
		opened = append(opened, ln)
		g.statusLn = ln
	}
	if a := g.opts.adminAddr; a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fail("admin server", a, err)
		}
		g.adminLn = ln
	}
	for i, ln := range g.listeners {
		g.log.Info("listener bound", "port", g.cfg.Listeners[i].Port, "addr", ln.Addr().String())
	}
	if g.statusLn != nil {
		g.log.Info("status server bound", "addr", g.statusLn.Addr().String())
	}
	if g.adminLn != nil {
		g.log.Info("admin server bound", "addr", g.adminLn.Addr().String())
	}
	return nil
}

// serve serves until ctx is done or a server fails, then drains.
func (g *gateway) serve(ctx context.Context) int {
	g.serveErrors = make(chan error, len(g.listeners)+2)
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
	if g.statusLn != nil {
		g.statusSrv = newStatusServer(g)
		go g.run(g.statusSrv, g.statusLn)
	}
	if g.adminLn != nil {
		g.adminSrv = newAdminServer(g)
		go g.run(g.adminSrv, g.adminLn)
	}
	g.state.Store(stateReady)
	g.log.Info("ready")

	code := 0
	select {
	case <-ctx.Done():
	case err := <-g.serveErrors:
		g.log.Error("serving failed", "err", err)
		code = 1
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
