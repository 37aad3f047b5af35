package runtime

import (
	"io"
	"net"
	"sync"
	"time"
)

// connQueue is a net.Listener whose connections come from push: the
// HTTP/1.1 engine hands net/http's HTTP/2 server the connections that
// speak HTTP/2 through one.
type connQueue struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnQueue() *connQueue {
	return &connQueue{conns: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the server or, once the queue is closed (the server
// shut down), refuses it with refuseH2.
func (q *connQueue) push(c net.Conn) {
	select {
	case q.conns <- c:
	case <-q.done:
		refuseH2(c)
	}
}

// goAwayUnprocessed is the server's side of an HTTP/2 connection that will
// process no stream: its connection preface, an empty SETTINGS frame (RFC
// 9113 section 3.4), then GOAWAY with last stream 0 and NO_ERROR (section
// 6.8), which tells the client that none of its requests was processed
// and that it may send them again on a new connection.
var goAwayUnprocessed = []byte{
	0, 0, 0, 0x4, 0, 0, 0, 0, 0, // SETTINGS: length 0, no flags, stream 0
	0, 0, 8, 0x7, 0, 0, 0, 0, 0, // GOAWAY: length 8, no flags, stream 0
	0, 0, 0, 0, // last stream ID 0
	0, 0, 0, 0, // error code NO_ERROR
}

// refuseH2 answers an HTTP/2 connection that reached the engine as its
// server shut down (accepted just before a drain, its preface read after)
// with goAwayUnprocessed, so that the client retries elsewhere (after a
// handover, at the socket's new owner) instead of seeing a reset. It
// reads what the client sends until the client closes, at most a second:
// closing with the client's bytes unread would reset the connection, and
// the GOAWAY could be lost with it.
func refuseH2(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(goAwayUnprocessed); err == nil {
		io.Copy(io.Discard, c)
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return queueAddr{} }

type queueAddr struct{}

func (queueAddr) Network() string { return "handoff" }
func (queueAddr) String() string  { return "handoff" }
