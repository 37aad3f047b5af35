package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// tcpIdleTimeout closes a proxied connection with no traffic either way
// for this long: Envoy's tcp_proxy default idle_timeout.
var tcpIdleTimeout = time.Hour

// prepareL4 checks a TCP or TLS passthrough listener's routes.
func (l *Listener) prepareL4(nclusters int) []error {
	var errs []error
	if l.Protocol != "HTTPS" && (len(l.TLS) > 0 || len(l.VirtualHosts) > 0) {
		errs = append(errs, fmt.Errorf("protocol %s has HTTP virtual hosts or TLS servers", l.Protocol))
	}
	for i := range l.L4 {
		r := &l.L4[i]
		r.route = Route{ID: r.ID, Clusters: r.Clusters}
		if err := r.route.prepareWeights(nclusters); err != nil {
			errs = append(errs, fmt.Errorf("route %d %q: %w", i, r.ID, err))
		}
	}
	return errs
}

// l4Server serves a TCP or TLS passthrough listener: Envoy's tcp_proxy,
// behind a TLS inspector for passthrough.
type l4Server struct {
	l   *Listener
	e   *engine
	log *slog.Logger
	sni *sniTable // nil on TCP
	// helloTimeout and idle are handshakeTimeout and tcpIdleTimeout when
	// the server was made.
	helloTimeout, idle time.Duration
	// m counts the connections as istio_tcp_*; nil without metrics.
	m *metrics

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	// serving is closed when serve returns: shutdown waits for it, so
	// that a connection accepted as it began is tracked, not dropped.
	serving chan struct{}
}

func newL4Server(l *Listener, e *engine, log *slog.Logger) *l4Server {
	s := &l4Server{l: l, e: e, log: log, conns: map[net.Conn]struct{}{}, helloTimeout: handshakeTimeout, idle: tcpIdleTimeout,
		serving: make(chan struct{})}
	if l.Protocol == "TLS" {
		t := newSNITable()
		for i, r := range l.L4 {
			t.add(i, r.SNI)
		}
		s.sni = &t
	}
	return s
}

// serve accepts until the listener is closed.
func (s *l4Server) serve(ln net.Listener) error {
	defer close(s.serving)
	s.mu.Lock()
	s.ln = ln
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.track(c, true, true)
		go func() {
			defer s.track(c, false, false)
			defer c.Close()
			s.handle(c)
		}()
	}
}

// track adds a connection (false once shutting down, unless serve
// accepted it) or removes it; wg counts the tracked connections, added
// under the lock so that shutdown's Wait never races an Add.
func (s *l4Server) track(c net.Conn, add, accepted bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed && !accepted {
			return false
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
	} else {
		delete(s.conns, c)
		s.wg.Done()
	}
	return true
}

// handoff forwards a connection an HTTPS listener accepted to route r:
// a passthrough route with the ClientHello it read (hello), or the tcp
// route of a terminating server with the decrypted stream.
func (s *l4Server) handoff(c net.Conn, r *L4Route, hello []byte) {
	if !s.track(c, true, false) {
		c.Close()
		return
	}
	defer s.track(c, false, false)
	defer c.Close()
	s.forwardRoute(c, r, hello)
}

// shutdown stops accepting and waits for the connections to end until ctx
// is done, then closes them.
func (s *l4Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	started := s.ln != nil
	s.mu.Unlock()
	if started {
		select {
		case <-s.serving:
		case <-ctx.Done():
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// handle proxies one connection: for TLS passthrough it reads the
// ClientHello to pick the route by SNI and replays it upstream untouched.
func (s *l4Server) handle(c net.Conn) {
	var hello []byte
	ri := 0
	if s.sni != nil {
		sni, raw, err := peekSNI(c, s.helloTimeout)
		if err != nil {
			s.log.Debug("tls passthrough: no ClientHello", "remote", c.RemoteAddr().String(), "err", err)
			return
		}
		hello = raw
		if ri = s.sni.pick(sni); ri < 0 {
			s.log.Debug("tls passthrough: no route for server name", "sni", sni)
			return
		}
	}
	s.forward(c, ri, hello)
}

// forward connects to route ri's cluster, replays hello and splices.
func (s *l4Server) forward(c net.Conn, ri int, hello []byte) {
	if ri < 0 || ri >= len(s.l.L4) {
		return // no route: Envoy has no filter chain and closes
	}
	s.forwardRoute(c, &s.l.L4[ri], hello)
}

func (s *l4Server) forwardRoute(c net.Conn, r *L4Route, hello []byte) {
	up, ci, err := s.dial(r)
	if err != nil {
		s.log.Debug("tcp proxy: upstream connect failed", "route", r.ID, "err", err)
		if s.m != nil {
			f := flagUF
			if ci < 0 || errors.Is(err, errNoHealthyUpstream) {
				f = flagUH
			}
			t := s.m.tcp(ci, f)
			t.Opened.Inc()
			t.Closed.Inc()
		}
		return
	}
	defer up.Close()
	var t tcpSeries
	if s.m != nil {
		t = s.m.tcp(ci, 0)
		t.Opened.Inc()
		defer t.Closed.Inc()
		t.Received.Add(float64(len(hello)))
	}
	if len(hello) > 0 {
		if _, err := up.Write(hello); err != nil {
			return
		}
	}
	splice(c, up, s.idle, t.Received, t.Sent)
}

// dial connects to an endpoint of the route's cluster, trying a second
// endpoint when the first refuses.
func (s *l4Server) dial(r *L4Route) (net.Conn, int, error) {
	ci := r.route.pick()
	if ci < 0 || ci >= len(s.e.ups) {
		return nil, -1, errors.New("no cluster")
	}
	up := s.e.ups[ci]
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	set := up.endpoints(ctx)
	if set == nil || set.size() == 0 {
		return nil, ci, errNoHealthyUpstream
	}
	var tried []string
	var err error
	d := net.Dialer{Timeout: connectTimeout}
	for range min(2, set.size()) {
		addr := up.pickAddr(set, tried)
		if addr == "" {
			return nil, ci, errNoHealthyUpstream
		}
		tried = append(tried, addr)
		var c net.Conn
		if c, err = d.DialContext(ctx, "tcp", addr); err == nil {
			return c, ci, nil
		}
	}
	return nil, ci, err
}

// splice copies both ways until both directions have ended, passing a
// half-close on (a client that shuts down writing still gets the answer),
// and gives up after idle with no traffic either way. fromA and fromB, when
// not nil, count the bytes read from each side as they pass.
func splice(a, b net.Conn, idle time.Duration, fromA, fromB prometheus.Counter) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var wg sync.WaitGroup
	one := func(dst, src net.Conn, count prometheus.Counter) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			src.SetReadDeadline(time.Now().Add(idle))
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if count != nil {
					count.Add(float64(n))
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					a.Close()
					b.Close()
					return
				}
			}
			if err == nil {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < idle {
				continue // the other direction is busy
			}
			if err == io.EOF {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
					return
				}
			}
			a.Close()
			b.Close()
			return
		}
	}
	wg.Add(2)
	go one(b, a, fromA)
	go one(a, b, fromB)
	wg.Wait()
}
