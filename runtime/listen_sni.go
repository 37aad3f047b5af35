package runtime

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// errHelloRead stops the handshake peekSNI runs once the ClientHello has
// been seen.
var errHelloRead = errors.New("client hello read")

// peekSNI reads a TLS ClientHello from c within timeout and returns its
// server name and the bytes read, to be replayed to the upstream. It lets
// crypto/tls parse the hello (fragmented records and all) on a connection
// that records what is read and discards what is written, and stops the
// handshake at the first callback.
func peekSNI(c net.Conn, timeout time.Duration) (string, []byte, error) {
	rec := &recordingConn{Conn: c}
	var sni string
	var seen bool
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni, seen = h.ServerName, true
		return nil, errHelloRead
	}}
	c.SetReadDeadline(time.Now().Add(timeout))
	err := tls.Server(rec, cfg).Handshake()
	c.SetReadDeadline(time.Time{})
	if !seen {
		if err == nil {
			err = errors.New("handshake ended without a ClientHello")
		}
		return "", nil, err
	}
	return sni, rec.buf.Bytes(), nil
}

// recordingConn keeps what is read and swallows writes, so the aborted
// handshake's alert never reaches the client.
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

func (r *recordingConn) Write(p []byte) (int, error) { return len(p), nil }
