package runtime

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// applyLimits sets the listener server's timeouts and header limit from
// the flags. The header read timeout bounds how long a started request may
// dribble its headers (slowloris); an idle keep-alive connection waits for
// the next request under the idle timeout instead.
func (o *obsOptions) applyLimits(srv *httpServer) {
	srv.h1.ReadHeaderTimeout = o.headerReadTimeout
	srv.h1.RequestTimeout = o.requestTimeout
	srv.h2.ReadTimeout = o.requestTimeout // per stream in net/http's HTTP/2 server
	srv.h1.IdleTimeout = o.idleTimeout
	srv.h1.MaxHeaderBytes = o.maxHeaderBytes
	srv.h2.ReadHeaderTimeout = o.headerReadTimeout
	srv.h2.IdleTimeout = o.idleTimeout
	srv.h2.MaxHeaderBytes = o.maxHeaderBytes
}

// connOverflowReply is what a connection past --max-connections gets before
// it is closed: a client that sends HTTP/1.1 reads a clear 503.
const connOverflowReply = "HTTP/1.1 503 Service Unavailable\r\nServer: istio-envoy\r\nContent-Type: text/plain\r\n" +
	"Content-Length: 24\r\nConnection: close\r\n\r\nconnection limit reached"

// gatewayListener wraps a Gateway port's ln with the connection limit and,
// when the topology asks for it, the PROXY protocol: the limit counts
// connections before their header is read.
func (g *gateway) gatewayListener(ln net.Listener) net.Listener {
	ln = g.limitListener(ln)
	if g.cfg.Topology.ProxyProtocol {
		ln = proxyProtocolListener(ln)
	}
	return ln
}

// limitListener wraps ln so it holds at most --max-connections open
// connections; ln itself when there is no limit.
func (g *gateway) limitListener(ln net.Listener) net.Listener {
	max := g.opts.obs.maxConnections
	if max <= 0 {
		return ln
	}
	var overflow interface{ Inc() }
	if g.obs != nil {
		overflow = g.obs.metrics.connLimit.WithLabelValues(ln.Addr().String())
	}
	return &connLimitListener{Listener: ln, max: int64(max), overflow: overflow, log: g}
}

type connLimitListener struct {
	net.Listener
	max      int64
	open     atomic.Int64
	overflow interface{ Inc() }
	log      *gateway
	warned   atomic.Bool
}

func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &limitedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		if l.overflow != nil {
			l.overflow.Inc()
		}
		if !l.warned.Swap(true) {
			l.log.log.Warn("connection limit reached; refusing new connections", "addr", l.Addr().String(), "max", l.max)
		}
		// Refusing must not stall accepting: the reply is small enough for
		// the socket buffer, and the write is bounded anyway.
		go refuse(c)
	}
}

func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte(connOverflowReply))
	c.Close()
}

// limitedConn gives its slot back once, however often it is closed.
type limitedConn struct {
	net.Conn
	l    *connLimitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		c.l.warned.Store(false)
	})
	return err
}
