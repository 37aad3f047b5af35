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
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		forced bool
	)
	for _, srv := range g.servers {
		if g.handedOver {
			srv.h1.IdleGrace = drainIdleGrace
		}
		wg.Go(func() {
			if err := srv.shutdown(ctx); err != nil {
				mu.Lock()
				forced = true
				mu.Unlock()
			}
		})
	}
	for _, s := range g.l4 {
		wg.Go(func() {
			if s.shutdown(ctx) != nil {
				mu.Lock()
				forced = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
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
