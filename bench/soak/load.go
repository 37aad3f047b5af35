package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// kind is one way a client talks to the ingress.
type kind int

const (
	h1KeepAlive     kind = iota // HTTP/1.1, pooled connections
	h1NewConn                   // HTTP/1.1, one connection per request
	tlsKeepAlive                // HTTP/1.1 over TLS, pooled
	tlsNewConn                  // HTTP/1.1 over TLS, a full handshake per request
	h2TLS                       // HTTP/2 over TLS (ALPN h2), multiplexed
	h2c                         // HTTP/2 with prior knowledge on the HTTP port
	flakyRoute                  // HTTP/1.1 keep-alive to the backend that comes and goes
	abortAfterSend              // a whole request to /slow, then hang up
	abortMidHeaders             // half a request head, then hang up
	kinds
)

var kindNames = [kinds]string{"h1 keep-alive", "h1 new connection", "TLS keep-alive", "TLS new connection",
	"HTTP/2 over TLS", "h2c", "flaky backend", "abort after send", "abort mid-headers"}

// mix is the share of each kind in every 100 requests.
var mix = [kinds]int{40, 5, 10, 2, 20, 8, 7, 4, 4}

// schedule maps i%100 to a kind, the kinds interleaved so that every
// stretch of the run mixes them all.
var schedule = func() [100]kind {
	var s [100]kind
	left := mix
	for i := 0; i < 100; {
		for k := kind(0); k < kinds && i < 100; k++ {
			if left[k] > 0 {
				left[k]--
				s[i] = k
				i++
			}
		}
	}
	return s
}()

// clients holds one client per kind, pooled ones sized to the load.
type clients struct {
	in      *ingress
	byKind  [kinds]*http.Client
	closers []*http.Transport
}

func newClients(in *ingress, cert *x509.Certificate) *clients {
	c := &clients{in: in}
	mk := func(t *http.Transport) *http.Client {
		t.MaxIdleConnsPerHost = 256
		c.closers = append(c.closers, t)
		return &http.Client{Transport: t, Timeout: 30 * time.Second}
	}
	var h2cOnly http.Protocols
	h2cOnly.SetUnencryptedHTTP2(true)
	c.byKind[h1KeepAlive] = mk(&http.Transport{})
	c.byKind[h1NewConn] = mk(&http.Transport{DisableKeepAlives: true})
	c.byKind[tlsKeepAlive] = mk(&http.Transport{TLSClientConfig: tlsConfig(cert, "http/1.1")})
	c.byKind[tlsNewConn] = mk(&http.Transport{TLSClientConfig: tlsConfig(cert, "http/1.1"), DisableKeepAlives: true})
	c.byKind[h2TLS] = mk(&http.Transport{TLSClientConfig: tlsConfig(cert, "h2"), ForceAttemptHTTP2: true})
	c.byKind[h2c] = mk(&http.Transport{Protocols: &h2cOnly})
	c.byKind[flakyRoute] = c.byKind[h1KeepAlive]
	return c
}

func (c *clients) closeIdle() {
	for _, t := range c.closers {
		t.CloseIdleConnections()
	}
}

// tally counts outcomes per kind.
type tally struct {
	ok, unavailable, failed [kinds]atomic.Int64
	mu                      sync.Mutex
	firstFailure            string
}

func (t *tally) fail(k kind, what string) {
	t.failed[k].Add(1)
	t.mu.Lock()
	if t.firstFailure == "" {
		t.firstFailure = kindNames[k] + ": " + what
	}
	t.mu.Unlock()
}

func (t *tally) failures() int64 {
	var n int64
	for k := range kinds {
		n += t.failed[k].Load()
	}
	return n
}

func (t *tally) print(w io.Writer, elapsed time.Duration) {
	var total int64
	fmt.Fprintf(w, "%-20s %10s %10s %10s\n", "kind", "ok", "503", "failed")
	for k := range kinds {
		ok, un, f := t.ok[k].Load(), t.unavailable[k].Load(), t.failed[k].Load()
		total += ok + un + f
		fmt.Fprintf(w, "%-20s %10d %10d %10d\n", kindNames[k], ok, un, f)
	}
	fmt.Fprintf(w, "%d requests in %s (%.0f/s)\n", total, elapsed.Round(time.Second), float64(total)/elapsed.Seconds())
}

// drive sends n requests from conns goroutines and tallies them; the
// flaky kind runs only when fl is set (the warm-up leaves it out).
func drive(c *clients, n int64, conns int, fl *flaky) (*tally, error) {
	t := &tally{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				k := schedule[i%100]
				if k == flakyRoute && fl == nil {
					k = h1KeepAlive
				}
				c.one(t, k)
			}
		}()
	}
	wg.Wait()
	return t, nil
}

// one sends one request of kind k and judges it: every request that should
// succeed must get 200 and the backend's 100 bytes; the flaky backend's may
// get 503 while it is down; aborted ones are only sent.
func (c *clients) one(t *tally, k kind) {
	switch k {
	case abortAfterSend, abortMidHeaders:
		data := "GET /slow HTTP/1.1\r\nHost: soak.example.com\r\n\r\n"
		if k == abortMidHeaders {
			data = "GET / HTTP/1.1\r\nHost: soak.exa"
		}
		if err := c.abort(data); err != nil {
			t.fail(k, err.Error())
			return
		}
		t.ok[k].Add(1)
		return
	}
	url := "http://" + c.in.http + "/"
	switch k {
	case tlsKeepAlive, tlsNewConn, h2TLS:
		url = "https://" + c.in.https + "/"
	case flakyRoute:
		url += "flaky"
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "soak.example.com"
	resp, err := c.byKind[k].Do(req)
	if err != nil {
		t.fail(k, err.Error())
		return
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		t.fail(k, "reading the body: "+err.Error())
	case resp.StatusCode == 200 && n == 100:
		t.ok[k].Add(1)
	case resp.StatusCode == 503 && k == flakyRoute:
		t.unavailable[k].Add(1)
	default:
		t.fail(k, fmt.Sprintf("%s with %d bytes", resp.Status, n))
	}
}

// abort writes data on a new connection to the HTTP port and hangs up;
// only a refused connection is an error.
func (c *clients) abort(data string) error {
	conn, err := net.Dial("tcp", c.in.http)
	if err != nil {
		return err
	}
	conn.Write([]byte(data))
	return conn.Close()
}
