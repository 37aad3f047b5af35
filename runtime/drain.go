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

// drain stops the gateway gracefully: readiness turns 503 at once, the
// listeners stop accepting, idle keep-alive connections close, requests in
// flight get up to --drain-timeout to finish (a connection closes after its
// current response), and what is left after that is closed. The status and
// admin servers stop last, so probes see 503 throughout the drain.
func (g *gateway) drain() {
	g.state.Store(stateDraining)
	g.log.Info("draining", "timeout", g.opts.drainTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.drainTimeout)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		forced bool
	)
	for _, srv := range g.servers {
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
	g.engine.transport.CloseIdleConnections()
	for _, t := range g.engine.transports {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
	g.log.Info("stopped")
}
