package runtime

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// The framing guard. net/http parses HTTP/1.1 well, but at the edge it is
// too forgiving in ways that matter when another proxy sits in front:
//
//   - Content-Length together with Transfer-Encoding: chunked is served, and
//     the connection kept, with Content-Length silently dropped (RFC 9112
//     section 6.1 requires closing it; Envoy answers 400 and closes).
//   - an obs-fold continuation line is joined to the header before it, so
//     "Transfer-Encoding:\r\n chunked" frames the body as chunked (RFC 9112
//     section 5.2 allows 400; a front proxy that does not fold frames it
//     differently).
//   - there is no limit on the number of header lines (Envoy: 100, then
//     431).
//
// A handler cannot see any of this: net/http deletes Content-Length and
// joins folded lines before the handler runs. So every accepted connection
// is wrapped in a guardConn that follows the raw bytes net/http reads: it
// finds each request's header block and skips its body exactly as net/http
// frames it, and leaves a verdict per request. The handler takes the
// verdict of its request (checked against a hash of the request line) and
// answers 400/431 with the connection closed, or just closes the connection
// after the response when the guard lost track (an upgrade, a framing error
// net/http also rejects, pipelining deeper than the queue): closing is
// always safe.

// frameAction is the guard's verdict on one request.
type frameAction uint8

const (
	frameOK frameAction = iota
	// frameClose: serve, then close the connection.
	frameClose
	// frameBadRequest: answer 400 and close (Envoy's codec error).
	frameBadRequest
	// frameTooManyHeaders: answer 431 and close.
	frameTooManyHeaders
)

// maxRequestHeaders is Envoy's default max_request_headers_count.
const maxRequestHeaders = 100

type verdict struct {
	line   uint64 // hash of the request line
	action frameAction
}

// guardListener wraps accepted connections in guardConns.
type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c}, nil
}

// guardConn watches the bytes net/http reads from a connection. Reads come
// from net/http's connection goroutine and its background reader; verdicts
// are taken by the handler; mu orders them.
type guardConn struct {
	net.Conn
	mu sync.Mutex
	f  framer
}

func (c *guardConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.f.feed(b[:n])
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite lets net/http half-close before it hangs up after an error
// reply, as it does with a bare TCP connection.
func (c *guardConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type guardKey struct{}

// withGuard is the server's ConnContext: it lets handlers find the guard.
func withGuard(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*guardConn); ok {
		return context.WithValue(ctx, guardKey{}, g)
	}
	return ctx
}

// guardVerdict returns the action for an HTTP/1.x request. Requests that
// did not come through a guardConn (tests, other servers) are OK.
func guardVerdict(r *http.Request) frameAction {
	g, ok := r.Context().Value(guardKey{}).(*guardConn)
	if !ok {
		return frameOK
	}
	return g.take(r)
}

func (c *guardConn) take(r *http.Request) frameAction {
	h := newLineHash()
	h = h.addString(r.Method).addByte(' ').addString(r.RequestURI).addByte(' ').addString(r.Proto)
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.f.queue
	if len(q) == 0 {
		return frameClose
	}
	v := q[0]
	c.f.queue = q[:copy(q, q[1:])]
	if v.line != uint64(h) {
		// The guard and net/http disagree on where requests start; trust
		// neither for the rest of this connection.
		c.f.lose()
		return frameClose
	}
	return v.action
}
