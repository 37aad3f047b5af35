// Package http1 is gwc's HTTP/1.1 server engine for the downstream side:
// it parses each request exactly once, strictly (RFC 9112 and Envoy's
// codec defaults, each rule citing its source in head.go and body.go), and
// serves it to an http.Handler, so the proxy above it is written against
// the standard interfaces.
//
// What it does differently from net/http's server, and why: no background
// read per request (only a request still served after 50 ms gets one, to
// notice a client that leaves: watch.go), one reused request, header map
// and read buffer per connection, and the response head and a small body
// leave in one write.
// Connections that speak HTTP/2 (ALPN h2 or the prior-knowledge preface)
// are handed, unparsed, to Server.H2, which is net/http's HTTP/2 server.
package http1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.1 on the connections its listeners accept.
type Server struct {
	Handler http.Handler
	// ConnContext derives a connection's context, as http.Server's does.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// H2 takes a connection that speaks HTTP/2, with the bytes already
	// read from it; nil refuses HTTP/2 (the connection is closed).
	H2 func(c net.Conn, buffered []byte)
	// Rejected, if set, learns of every request the engine refuses before
	// the handler sees it (status and reason, Envoy's response code
	// details), for metrics and logs.
	Rejected func(c net.Conn, status int, reason string)

	// ReadHeaderTimeout bounds reading a request head, from its first
	// byte; IdleTimeout bounds waiting for the next request on a kept
	// connection. Zero means no bound.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// RequestTimeout bounds the whole request, body included, from its
	// first byte (Envoy's request_timeout; 408 when it fires). Zero means
	// no bound, Istio's default.
	RequestTimeout time.Duration
	// MaxHeaderBytes bounds the request line and header lines together
	// (431 past it); MaxHeaderCount the number of header lines.
	MaxHeaderBytes int
	MaxHeaderCount int
	Log            *slog.Logger
	// IdleGrace is how long Shutdown leaves a keep-alive connection that
	// has just turned idle before closing it. A client sends its next
	// request at once; closing under it would lose that request (RFC 9112
	// section 9.3.1's race), while within the grace the request is served
	// with "Connection: close". Zero closes idle connections at once.
	IdleGrace time.Duration

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	inShut    atomic.Bool
	connWG    sync.WaitGroup
	// serving counts the Serve loops, which may still register a
	// connection they accepted.
	serving sync.WaitGroup
}

// Connection states, as the shutdown sees them.
const (
	stateNew    int32 = iota // accepted, no request yet
	stateIdle                // waiting for the next request's first byte
	stateActive              // serving a request
	stateClosed              // closed by the shutdown
)

// newConnGrace is how long a shutdown leaves a connection that has sent
// nothing yet (its first request may be on the way), as net/http does.
const newConnGrace = 5 * time.Second

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return 60 << 10 // Envoy: max_request_headers_kb 60
}

func (s *Server) maxHeaderCount() int {
	if s.MaxHeaderCount > 0 {
		return s.MaxHeaderCount
	}
	return 100 // Envoy: max_request_headers_count
}

// Serve accepts connections on ln and serves each on its own goroutine,
// until ln fails or the server shuts down.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.inShut.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	var backoff time.Duration
	for {
		rw, err := ln.Accept()
		if err != nil {
			if s.inShut.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait and retry.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		// A connection accepted as the shutdown began is served all the
		// same (its request gets "Connection: close"): its client was
		// not refused, so it must not be reset.
		go s.newConn(rw, true).serve()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// ServeConn serves one connection that was accepted elsewhere, on the
// calling goroutine.
func (s *Server) ServeConn(rw net.Conn) {
	if c := s.newConn(rw, false); c != nil {
		c.serve()
	} else {
		rw.Close()
	}
}

// newConn registers a connection; during a shutdown only an accepted one.
func (s *Server) newConn(rw net.Conn, accepted bool) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShut.Load() && !accepted {
		return nil
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	c := &conn{srv: s, rwc: rw, start: time.Now()}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.connWG.Done()
	}
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish their request (each closes after its response) until
// ctx is done; then it returns ctx's error and leaves the rest to Close.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.StopAccepting(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// StopAccepting closes the listeners and waits for the Serve loops to
// return, so that every connection accepted is registered: the first step
// of Shutdown.
func (s *Server) StopAccepting(ctx context.Context) error {
	s.inShut.Store(true)
	s.closeListeners()
	done := make(chan struct{})
	go func() { s.serving.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.inShut.Store(true)
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.rwc.Close()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	s.listeners = nil
	s.mu.Unlock()
}

// closeIdle closes the connections waiting for a request and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if time.Since(time.Unix(0, c.idleSince.Load())) >= s.IdleGrace && c.state.CompareAndSwap(stateIdle, stateClosed) ||
			time.Since(c.start) > newConnGrace && c.state.CompareAndSwap(stateNew, stateClosed) {
			c.rwc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) logDebug(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Debug(msg, args...)
	}
}
