package runtime

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// statusShutdown bounds how long the status and admin servers get to finish
// after the listeners have drained.
const statusShutdown = time.Second

// drainIdleGrace is how long a drain after a handover leaves a keep-alive
// connection that has just answered a request: a busy client's next
// request arrives within it and is served with "Connection: close",
// rather than racing the close. It is long enough for a client slowed by a
// loaded machine (1s was not, under make test on two cores); only a
// connection left idle that long holds the old process. After SIGTERM the
// clients have been told to go elsewhere (readiness is 503), and idle
// connections close at once.
const drainIdleGrace = 5 * time.Second

// drain stops the gateway gracefully: readiness turns 503 at once, the
// listeners stop accepting, idle keep-alive connections close, requests in
// flight get up to --drain-timeout to finish (a connection closes after its
// current response), and what is left after that is closed. The status and
// admin servers stop last, so probes see 503 throughout the drain.
//
// After a handover the sockets live on in the new process: closing them
// here only stops this process accepting, and the status and admin servers
// stop first, so that probes reach the new process, which is ready.
func (g *gateway) drain() {
	g.state.Store(stateDraining)
	if g.handedOver {
		g.log.Info("draining after a handover", "timeout", g.opts.drainTimeout, "version", runtimeVersion(), "digest", g.cfg.Digest)
		g.stopStatus()
	} else {
		g.log.Info("draining", "timeout", g.opts.drainTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.drainTimeout)
	defer cancel()
	// After a handover, a port the successor does not serve is this
	// process's alone: it keeps serving until the rest has drained and
	// closes then, as Envoy's parent keeps accepting through a hot
	// restart's drain. Otherwise every server shuts down at once.
	first := func(socket string) bool { return !g.handedOver || g.handover.took[socket] }
	forced := g.shutdownServers(ctx, first)
	if g.shutdownServers(ctx, func(socket string) bool { return !first(socket) }) {
		forced = true
	}
	if forced {
		g.log.Warn("drain timeout passed; closed connections with requests in flight", "timeout", g.opts.drainTimeout)
	}
	if !g.handedOver {
		g.stopStatus()
	}
	g.engine.transport.CloseIdleConnections()
	for _, t := range g.engine.transports {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
	g.log.Info("stopped")
}

// shutdownServers shuts down, together, the servers of the listeners whose
// socket name which accepts, and reports whether ctx ended before every
// request in flight was answered.
func (g *gateway) shutdownServers(ctx context.Context, which func(socket string) bool) (forced bool) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	shut := func(f func(context.Context) error) {
		wg.Go(func() {
			if f(ctx) != nil {
				mu.Lock()
				forced = true
				mu.Unlock()
			}
		})
	}
	for _, srv := range g.servers {
		if !which(srv.socket) {
			continue
		}
		if g.handedOver {
			srv.h1.IdleGrace = drainIdleGrace
		}
		shut(srv.shutdown)
	}
	for _, s := range g.l4 {
		if which(socketName(s.l)) {
			shut(s.shutdown)
		}
	}
	wg.Wait()
	return forced
}

// stopStatus stops the status and admin servers, giving requests to them
// statusShutdown to finish.
func (g *gateway) stopStatus() {
	for _, srv := range []*http.Server{g.statusSrv, g.adminSrv} {
		if srv == nil {
			continue
		}
		sctx, scancel := context.WithTimeout(context.Background(), statusShutdown)
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		scancel()
	}
}
