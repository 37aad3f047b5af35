package runtime

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// attempt sends req to one endpoint of the cluster chosen by its load
// balancer, through the circuit breakers, and reports the outcome to
// outlier detection. It returns the endpoint it used ("" when none could
// be picked). The response body, when there is one, holds the request's
// connection slot until it is closed.
func (u *upstream) attempt(rt http.RoundTripper, req *http.Request, set *endpointSet, tried []string, key hashKey) (*http.Response, string, error) {
	v := u.view(set)
	i := u.pick(v, tried, key)
	if i < 0 {
		return nil, "", errNoHealthyUpstream
	}
	h := v.hosts[i]
	ctx := req.Context()
	if err := u.cb.admit(ctx); err != nil {
		return nil, h.addr, err
	}
	h.active.Add(1)
	if u.tls {
		req.URL.Scheme = "https"
		ctx = context.WithValue(ctx, sniKey{}, hostOnly(req.Host))
	}
	if p := u.cluster.Policy; p != nil && (p.Pool.MaxRequestsPerConnection > 1 || p.Pool.MaxConnectionDuration > 0) &&
		req.Header.Get("Upgrade") == "" {
		delete(req.Header, "Connection") // set by an earlier attempt
		ctx = httptrace.WithClientTrace(ctx, lastRequestTrace(req.Header, &p.Pool))
	}
	if ctx != req.Context() {
		req = req.WithContext(ctx)
	}
	req.URL.Host = h.addr
	resp, err := rt.RoundTrip(req)
	if err != nil {
		h.active.Add(-1)
		u.cb.release()
		if req.Context().Err() == nil {
			u.report(v, h, 0)
		}
		return nil, h.addr, err
	}
	u.report(v, h, resp.StatusCode)
	if key.setCookie != "" {
		resp.Header.Add("Set-Cookie", key.setCookie)
	}
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body = &releaseRWC{ReadWriteCloser: rwc, slot: slot{h: h, cb: u.cb}}
	} else {
		var rb *releaseBody
		if lt, ok := rt.(*leanTransport); ok && !lt.st.escaped {
			// The lean path's own, free again: it closed the last try's.
			rb = &lt.st.rb
			rb.done.Store(false)
		} else {
			rb = new(releaseBody)
		}
		rb.rc, rb.h, rb.cb = resp.Body, h, u.cb
		resp.Body = rb
	}
	return resp, h.addr, nil
}

// slot is what an attempt holds while its response is read: a request in
// flight on a host and a place in the circuit breakers.
type slot struct {
	h    *hostState
	cb   *breakers
	done atomic.Bool
}

func (s *slot) release() {
	if s.done.CompareAndSwap(false, true) {
		s.h.active.Add(-1)
		s.cb.release()
	}
}

// releaseBody releases the attempt's slot once the response is read to
// its end or closed.
type releaseBody struct {
	rc io.ReadCloser
	slot
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.rc.Close()
	b.release()
	return err
}

// releaseRWC keeps an upgraded connection writable for ReverseProxy.
type releaseRWC struct {
	io.ReadWriteCloser
	slot
}

func (b *releaseRWC) Close() error {
	err := b.ReadWriteCloser.Close()
	b.release()
	return err
}

// countedConn counts the requests sent on an upstream connection, for
// maxRequestsPerConnection.
type countedConn struct {
	net.Conn
	requests atomic.Uint32
	born     time.Time
}

// lastRequestTrace marks the request that reaches a connection's limit
// (maxRequestsPerConnection, or maxConnectionDuration passed) as the last
// on it: it goes out with "Connection: close", so the upstream closes the
// connection after answering. GotConn runs before the request is written,
// and h is shared by the transport's copies of the request.
func lastRequestTrace(h http.Header, pool *ConnectionPool) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		cc, ok := info.Conn.(*countedConn)
		if !ok {
			return
		}
		n := cc.requests.Add(1)
		if pool.MaxRequestsPerConnection > 1 && n >= pool.MaxRequestsPerConnection ||
			pool.MaxConnectionDuration > 0 && time.Since(cc.born) >= pool.MaxConnectionDuration {
			h["Connection"] = valClose
		}
	}}
}

type sniKey struct{}

// hostOnly strips the port from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
