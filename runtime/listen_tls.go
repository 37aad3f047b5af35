package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// handshakeTimeout bounds a TLS handshake, so a client that connects and
// never sends (or sends half a ClientHello) costs a goroutine and a socket
// for this long only.
var handshakeTimeout = 10 * time.Second

// Serving HTTPS. The listener does the handshake itself (it picks the
// server by SNI and may pass the connection through instead), then hands
// the HTTP server a terminatedConn: the decrypted stream with the
// connection state beside it. The HTTP/1.1 engine serves it, or hands it
// to net/http's HTTP/2 server when ALPN chose h2; net/http sees a plain
// connection (it would redo the handshake on a *tls.Conn) and the handler
// puts the TLS state back on the request (see requestTLS).

// terminatedConn is a TLS connection after its handshake.
type terminatedConn struct {
	net.Conn
	state  tls.ConnectionState
	server int // index into Listener.TLS
	// prefix is what the HTTP/1.1 engine read before handing the
	// connection to the HTTP/2 server; Read replays it first.
	prefix []byte
}

func (t *terminatedConn) Read(b []byte) (int, error) {
	if len(t.prefix) > 0 {
		n := copy(b, t.prefix)
		t.prefix = t.prefix[n:]
		return n, nil
	}
	return t.Conn.Read(b)
}

// NegotiatedProtocol tells the HTTP/1.1 engine what ALPN chose.
func (t *terminatedConn) NegotiatedProtocol() string { return t.state.NegotiatedProtocol }

// CloseWrite half-closes the TLS stream (close_notify) before a close.
func (t *terminatedConn) CloseWrite() error {
	if cw, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type terminatedKey struct{}

// withTerminated is the ConnContext of an HTTPS listener's server.
func withTerminated(ctx context.Context, c net.Conn) context.Context {
	if t, ok := c.(*terminatedConn); ok {
		ctx = context.WithValue(ctx, terminatedKey{}, t)
	}
	return ctx
}

// requestTLS returns the TLS connection a request came on, or nil, and
// sets r.TLS from it so that matching and forwarding see https.
func requestTLS(r *http.Request) *terminatedConn {
	t, _ := r.Context().Value(terminatedKey{}).(*terminatedConn)
	if t != nil && r.TLS == nil {
		r.TLS = &t.state
	}
	return t
}

// tlsListener accepts TCP connections, handshakes each in its own
// goroutine, and returns the connections whose handshake succeeded.
type tlsListener struct {
	raw  net.Listener
	term *terminator
	log  *slog.Logger
	// l4 forwards the connections whose SNI names a passthrough route of
	// the same port; nil when there is none.
	l4 *l4Server
	// timeout is handshakeTimeout when the listener was made.
	timeout time.Duration

	conns     chan net.Conn
	acceptErr chan error
	done      chan struct{}
	closeOnce sync.Once
	// loopDone is closed when acceptLoop has returned; handshakes counts
	// the handshakes under way; drained is closed after both, once the
	// listener is closed.
	loopDone   chan struct{}
	handshakes sync.WaitGroup
	drained    chan struct{}
}

func newTLSListener(raw net.Listener, term *terminator, l4 *l4Server, log *slog.Logger) *tlsListener {
	l := &tlsListener{raw: raw, term: term, l4: l4, log: log, timeout: handshakeTimeout,
		conns: make(chan net.Conn), acceptErr: make(chan error, 1), done: make(chan struct{}),
		loopDone: make(chan struct{}), drained: make(chan struct{})}
	go func() {
		defer close(l.loopDone)
		l.acceptLoop()
	}()
	return l
}

func (l *tlsListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.raw.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(backoff):
					continue
				case <-l.done:
					return
				}
			}
			select {
			case <-l.done:
				return // closed: Accept reports it once the handshakes end
			default:
			}
			select {
			case l.acceptErr <- err:
			default:
			}
			return
		}
		backoff = 0
		l.handshakes.Add(1)
		go func() {
			defer l.handshakes.Done()
			l.handshake(c)
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (l *tlsListener) handshake(c net.Conn) {
	if l.l4 != nil {
		sni, hello, err := peekSNI(c, l.timeout)
		if err != nil {
			l.log.Debug("tls: no ClientHello", "remote", c.RemoteAddr().String(), "err", err)
			c.Close()
			return
		}
		if i := l.term.pick(sni); i >= len(l.term.servers) {
			if ri := i - len(l.term.servers); ri < len(l.term.l4) {
				l.l4.handoff(c, &l.term.l4[ri], hello)
			} else {
				c.Close()
			}
			return
		}
		c = &prefixConn{Conn: c, prefix: hello}
	}
	tc := tls.Server(c, l.term.config)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.log.Debug("tls handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	st := tc.ConnectionState()
	t := &terminatedConn{Conn: tc, state: st, server: l.term.pick(st.ServerName)}
	if t.server >= 0 && t.server < len(l.term.servers) && l.term.servers[t.server].TCP != nil && l.l4 != nil {
		l.l4.handoff(tc, l.term.servers[t.server].TCP, nil)
		return
	}
	// Even once the listener is closed: the connection was accepted, and
	// Accept hands it on until every handshake has ended.
	l.conns <- t
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.acceptErr:
		return nil, err
	case <-l.drained:
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	err := net.ErrClosed
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.raw.Close()
		go func() {
			<-l.loopDone
			l.handshakes.Wait()
			close(l.drained)
		}()
	})
	return err
}

func (l *tlsListener) Addr() net.Addr { return l.raw.Addr() }

// loadCredentials reads the certificates of every TLS listener before
// anything binds: a missing, unreadable or mismatched file stops the start,
// named with its server.
func (g *gateway) loadCredentials() error {
	var errs []error
	g.terminators = make([]*terminator, len(g.cfg.Listeners))
	for i := range g.cfg.Listeners {
		l := &g.cfg.Listeners[i]
		if len(l.TLS) == 0 {
			continue
		}
		t, err := newTerminator(l, g.opts.credentialsDir, g.log)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.terminators[i] = t
	}
	return errors.Join(errs...)
}

// newH2CTransport is the transport of clusters that speak cleartext HTTP/2
// with prior knowledge, as Envoy talks to a GRPC or HTTP2 service port.
func newH2CTransport() *http.Transport {
	t := newTransport()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	t.Protocols = &p
	return t
}

// prefixConn replays bytes already read from a connection before reading
// more.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
