package runtime

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// An HTTP/2 connection handed to a server that has shut down gets the
// server preface and a GOAWAY saying no stream was processed, read here by
// x/net's HTTP/2 framer.
func TestRefuseH2Frames(t *testing.T) {
	client, server := tcpPair(t)
	q := newConnQueue()
	q.Close()
	pushed := make(chan struct{})
	go func() { q.push(server); close(pushed) }()

	client.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(client, http2.ClientPreface)
	fr := http2.NewFramer(client, client)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := f.(*http2.SettingsFrame); !ok || s.IsAck() {
		t.Fatalf("first frame: %v, want the server's SETTINGS", f)
	}
	f, err = fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	g, ok := f.(*http2.GoAwayFrame)
	if !ok || g.LastStreamID != 0 || g.ErrCode != http2.ErrCodeNo {
		t.Fatalf("second frame: %v, want GOAWAY last stream 0 NO_ERROR", f)
	}
	client.Close()
	select {
	case <-pushed:
	case <-time.After(5 * time.Second):
		t.Fatal("push did not return after the client closed")
	}
}

// A client's request on a refused connection is sent again on a new one:
// Go's HTTP/2 client, as RFC 9113 section 6.8 allows for unprocessed
// streams, retries it, and it is answered there.
func TestRefusedH2ConnectionRetried(t *testing.T) {
	ok := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })}
	ok.Protocols = new(http.Protocols)
	ok.Protocols.SetUnencryptedHTTP2(true)
	okLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ok.Serve(okLn)
	t.Cleanup(func() { ok.Close() })

	closed := newConnQueue()
	closed.Close()
	var dials atomic.Int32
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, _ string, _ *tls.Config) (net.Conn, error) {
			if dials.Add(1) == 1 {
				client, server := tcpPair(t)
				go closed.push(server)
				return client, nil
			}
			return (&net.Dialer{}).DialContext(ctx, network, okLn.Addr().String())
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("http://gateway.test/")
	if err != nil {
		t.Fatalf("request after a refused connection: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "served" || dials.Load() != 2 {
		t.Errorf("got %q after %d connections, want \"served\" on the second", body, dials.Load())
	}
}
