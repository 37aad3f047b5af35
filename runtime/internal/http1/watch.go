package http1

import (
	"context"
	"sync"
	"time"
)

// Noticing a client that leaves while its request waits for an upstream.
// net/http reads in the background after every request for this; that
// read (and the EAGAIN and park before it) is a large part of its cost per
// request. Most requests are answered in far less than watchDelay, so the
// engine arms one timer per request instead, and only a request still
// being served when it fires gets the background read. A client gone then
// cancels the connection's context, which the proxy follows to abandon the
// upstream request (Envoy resets it at once; gwc within watchDelay).

const watchDelay = 50 * time.Millisecond

// watcher is a connection's background read.
type watcher struct {
	mu        sync.Mutex
	timer     *time.Timer
	serving   bool          // a request is being served
	running   chan struct{} // closed when the read returned; nil if none
	got       [1]byte       // the byte read, if any
	n         int
	clientErr error  // the client is gone
	hook      func() // OnClientGone's
}

type connKey struct{}

// OnClientGone arranges for f to run, on another goroutine, if the client
// leaves while the request whose context is ctx is served: a cheaper
// context.AfterFunc for the one cancellation that matters while a proxy
// waits for its upstream. It reports false, doing nothing, when ctx is not
// the engine's own request context (a derived one, with a deadline, needs
// context.AfterFunc).
func OnClientGone(ctx context.Context, f func()) bool {
	c, _ := ctx.Value(connKey{}).(*conn)
	if c == nil || ctx != c.ctx {
		return false
	}
	c.watch.mu.Lock()
	c.watch.hook = f
	c.watch.mu.Unlock()
	return true
}

// ClearClientGone undoes OnClientGone; it reports false when f has run.
func ClearClientGone(ctx context.Context) bool {
	c, _ := ctx.Value(connKey{}).(*conn)
	if c == nil {
		return false
	}
	c.watch.mu.Lock()
	defer c.watch.mu.Unlock()
	ran := c.watch.hook == nil
	c.watch.hook = nil
	return !ran
}

// arm starts the timer for the request about to be served.
func (c *conn) armWatch() {
	w := &c.watch
	w.mu.Lock()
	w.serving = true
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, c.startWatch)
		return
	}
	w.timer.Reset(watchDelay)
}

// startWatch runs when a request has taken watchDelay: if its body has
// been read (no other read is in flight) and no next request is
// buffered, it reads in the background until the client sends or leaves.
func (c *conn) startWatch() {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.serving || w.running != nil {
		return
	}
	c.body.mu.Lock()
	idle := c.req.Body == nil || c.body.done || c.body.closed || !c.body.chunked && c.body.remain == 0
	c.body.mu.Unlock()
	if !idle || c.r < c.w {
		return
	}
	done := make(chan struct{})
	w.running = done
	c.rwc.SetReadDeadline(time.Time{}) // the body's deadline, if any, is over
	go func() {
		defer close(done)
		n, err := c.rwc.Read(w.got[:])
		w.mu.Lock()
		w.n = n
		gone := n == 0 && err != nil && w.serving
		hook := w.hook
		if gone {
			w.hook = nil
		}
		w.mu.Unlock()
		if gone {
			w.clientErr = err
			c.cancel()
			if hook != nil {
				hook()
			}
		}
	}()
}

// disarm stops the watch after the handler returned; it reports false when
// the client is gone. A byte the background read got goes back in front
// of the buffer.
func (c *conn) disarm() bool {
	w := &c.watch
	w.timer.Stop()
	w.mu.Lock()
	w.serving = false
	running := w.running
	w.mu.Unlock()
	if running == nil {
		return true
	}
	c.rwc.SetReadDeadline(aLongTimeAgo)
	<-running
	c.rwc.SetReadDeadline(time.Time{})
	w.running = nil
	if w.n > 0 {
		// The buffer is empty: the watch starts only then.
		c.r, c.w = 0, copy(c.buf, w.got[:w.n])
		w.n = 0
	}
	return w.clientErr == nil
}

var aLongTimeAgo = time.Unix(1, 0)
