package runtime

import (
	"context"
	"errors"
	"log"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gwc-dev/gwc/runtime/internal/http1"
	"github.com/gwc-dev/gwc/runtime/internal/pathnorm"
)

// engine is what the listeners share: one upstream and one transport per
// cluster, indexed as Config.Clusters (clusters without a connection
// policy share one transport), and a proxy per route destination.
type engine struct {
	cfg        *Config
	ups        []*upstream
	transports []http.RoundTripper
	transport  *http.Transport
	// forward serves the clusters that share transport, on the caller's
	// goroutine where it can (see upstream_forward.go); transport does the rest.
	forward *forwarder
	// h2c serves the clusters that speak cleartext HTTP/2 (gRPC); nil
	// when there are none.
	h2c *http.Transport
	log *slog.Logger
	// streamIdle is --stream-idle-timeout; 0 is none.
	streamIdle time.Duration
	// pool holds the proxies' copy buffers; proxyLog is their shared
	// error log.
	pool     bufferPool
	proxyLog *stdlog.Logger
	// proxies maps a *Route to its destinations' proxies (proxy_route.go).
	proxies sync.Map
	// mirrors bounds the mirrored requests in flight (proxy_mirror.go).
	mirrors mirrorGate
}

// newEngine builds the engine for a prepared cfg. DNS refreshes stop when
// stop is closed.
func newEngine(cfg *Config, log *slog.Logger, stop <-chan struct{}) *engine {
	e := &engine{cfg: cfg, transport: newTransport(), log: log}
	e.forward = newForwarder(e.transport)
	e.mirrors.limit.Store(defaultMaxMirrors)
	e.pool = make(bufferPool, 256)
	e.proxyLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	for i := range cfg.Clusters {
		up := newUpstream(&cfg.Clusters[i], stop, log, cfg.resolver)
		e.ups = append(e.ups, up)
		c := &cfg.Clusters[i]
		t := e.clusterTransport(c, c.HTTP2)
		if up.disc != nil && !c.HTTP2 {
			// Discovery says, and may change, which protocol the port
			// speaks (unless h2UpgradePolicy made it HTTP/2).
			t = &protocolSwitch{h1: t, h2: e.clusterTransport(c, true), http2: &up.disc.http2}
		}
		e.transports = append(e.transports, t)
		if up.dns != nil {
			up.dns.gone = func(addrs []string) { closeIdleTo(t, addrs) }
		}
	}
	return e
}

// h2cTransport returns the transport the clusters speaking cleartext
// HTTP/2 share.
func (e *engine) h2cTransport() http.RoundTripper {
	if e.h2c == nil {
		e.h2c = newH2CTransport()
	}
	return e.h2c
}

// listenerHandler serves one HTTP listener: Envoy's HTTP connection manager
// and router as Istio configures them at a gateway.
type listenerHandler struct {
	l *Listener
	e *engine
}

func (h *listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		// Istio's gateways accept HTTP/1.0 only with PILOT_HTTP10=1.
		localReply(w, http.StatusUpgradeRequired, "Upgrade Required", true)
		return
	}
	if up, ok := r.Header["Upgrade"]; ok && r.ProtoMajor == 1 && !(len(up) == 1 && strings.EqualFold(up[0], "websocket")) {
		// Istio configures only websocket upgrades at a gateway; Envoy
		// refuses any other (the engine already dropped an Upgrade that
		// Connection does not name, and h2c).
		noteDetails(w, "upgrade_failed")
		localReply(w, http.StatusForbidden, "", false)
		return
	}
	if !h.admit(w, r) {
		return
	}
	l := h.l
	tc := requestTLS(r)
	setClientCert(r, h.e.cfg.Topology.ForwardClientCertDetails)
	vi := l.Hosts.Lookup(r.Host)
	if vi < 0 || int(vi) >= len(l.VirtualHosts) {
		markFlag(w, flagNR)
		localReply(w, http.StatusNotFound, "", false)
		return
	}
	vh, first, err := l.virtualHost(int(vi))
	if err != nil {
		// Not for a built binary: gwc build prepared these tables.
		if first {
			h.e.log.Error("preparing virtual host", "err", err)
		}
		localReply(w, http.StatusInternalServerError, "", false)
		return
	}
	if len(l.TLS) > 0 && (tc == nil || !slices.Contains(vh.TLSServers, tc.server)) {
		// The host belongs to another server's route table.
		localReply(w, http.StatusNotFound, "", false)
		return
	}
	if vh.RequireTLS && r.TLS == nil {
		redirectHTTPS(w, r)
		return
	}
	path := requestPath(r)
	if path == "" || path[0] != '/' {
		markFlag(w, flagNR)
		localReply(w, http.StatusNotFound, "", false)
		return
	}
	path, ok := pathnorm.Normalize(path)
	if !ok {
		localReply(w, http.StatusBadRequest, "Bad Request", false)
		return
	}
	ri := vh.selectPath(r, path)
	if ri < 0 {
		markFlag(w, flagNR)
		localReply(w, http.StatusNotFound, "", false)
		return
	}
	rt := &vh.Routes[ri]
	if cw := newCompressWriter(w, r, rt); cw != nil {
		defer cw.finish()
		w = cw
	}
	if p := h.e.cfg.Plugins; p != nil {
		var answered bool
		if w, answered = p.Request(w, r, h.l.Port, rt.ID); answered {
			return
		}
	}
	h.serveRoute(w, r, rt, path)
}

// httpServer serves one HTTP listener: gwc's HTTP/1.1 engine, which hands
// connections that speak HTTP/2 (ALPN h2, or h2c with prior knowledge, as
// Envoy's AUTO codec accepts on plaintext) to net/http's HTTP/2 server.
type httpServer struct {
	// socket is the listener's socket name (socketName).
	socket string
	h1     *http1.Server
	h2     *http.Server
	// h2conns feeds h2 the connections h1 hands over.
	h2conns *connQueue
}

// newHTTPServer returns the server for one HTTP listener with Envoy's
// limits (60 KiB and 100 header lines, 1 h idle timeout) until the flags
// set others; connCtx derives each connection's context (TLS state).
func newHTTPServer(h http.Handler, connCtx func(context.Context, net.Conn) context.Context, log *slog.Logger) *httpServer {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	s := &httpServer{h2conns: newConnQueue()}
	s.h2 = &http.Server{
		Handler:                      h,
		Protocols:                    &protos,
		MaxHeaderBytes:               60 << 10,
		IdleTimeout:                  time.Hour,
		ConnContext:                  connCtx,
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     newServerLog(log),
		// net/http offers peers 1 MiB frames; Envoy's codecs keep RFC
		// 9113's initial 16 KiB, past which a frame is a connection
		// error of type FRAME_SIZE_ERROR (h2spec 4.2/3).
		HTTP2: &http.HTTP2Config{MaxReadFrameSize: h2MaxFrameSize},
	}
	s.h1 = &http1.Server{
		Handler:        h,
		ConnContext:    connCtx,
		H2:             s.handOffH2,
		IdleTimeout:    time.Hour,
		MaxHeaderBytes: 60 << 10,
		MaxHeaderCount: maxRequestHeaders,
		Log:            log,
	}
	return s
}

// maxRequestHeaders is Envoy's default max_request_headers_count.
const maxRequestHeaders = 100

// h2MaxFrameSize is the largest HTTP/2 frame a client may send: RFC 9113's
// initial SETTINGS_MAX_FRAME_SIZE, Envoy's too.
const h2MaxFrameSize = 16 << 10

// serve serves ln until the server shuts down; the HTTP/2 server runs
// beside it on the connections handed over.
func (s *httpServer) serve(ln net.Listener) error {
	go s.h2.Serve(s.h2conns)
	return s.h1.Serve(ln)
}

func (s *httpServer) handOffH2(c net.Conn, buffered []byte) {
	if len(buffered) > 0 {
		if t, ok := c.(*terminatedConn); ok {
			t.prefix = buffered
		} else {
			c = &prefixConn{Conn: c, prefix: buffered}
		}
	}
	s.h2conns.push(c)
}

// shutdown drains both servers: HTTP/1.1 connections finish their
// request, HTTP/2 ones get a GOAWAY and finish their streams.
func (s *httpServer) shutdown(ctx context.Context) error {
	var err1, err2 error
	// Stop accepting first: a client that reconnects on the GOAWAY must
	// reach the listener's next owner (a handover), not this process.
	if err := s.h1.StopAccepting(ctx); err != nil {
		s.h1.Close()
		s.h2.Close()
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { err2 = s.h2.Shutdown(ctx) })
	err1 = s.h1.Shutdown(ctx)
	wg.Wait()
	if err1 != nil || err2 != nil {
		s.h1.Close()
		s.h2.Close()
		return errors.Join(err1, err2)
	}
	s.h2conns.Close()
	return nil
}

// edgeRequest is the first handler of every HTTP listener. Every client of
// an Istio gateway is external (Envoy 1.33 and later trust no peer address
// by default), so, as Envoy's header sanitising does for external
// requests, the x-envoy-* headers a client sends are removed before
// routing (Envoy removes a fixed list of them; gwc removes every one) and
// its x-request-id is dropped so that a new one is made.
type edgeRequest struct {
	h http.Handler
	// trustedHops is Topology.NumTrustedProxies.
	trustedHops int
}

func (e edgeRequest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.trustedHops > 0 {
		// Before anything reads RemoteAddr: the access log, the
		// metrics, the plugins and source-IP hashing see the client.
		r = trustClientAddress(r, e.trustedHops)
	}
	h := r.Header
	for k := range h {
		if len(k) > 8 && k[:8] == "X-Envoy-" {
			delete(h, k)
		}
	}
	delete(h, "X-Request-Id")
	e.h.ServeHTTP(w, r)
}

// redirectHTTPS answers httpsRedirect as Envoy's require_tls does: 301 to
// the same host and path with the https scheme, no body.
func redirectHTTPS(w http.ResponseWriter, r *http.Request) {
	w.Header()["Location"] = []string{"https://" + r.Host + r.URL.RequestURI()}
	w.WriteHeader(http.StatusMovedPermanently)
}

// serverLog carries net/http's own log lines into slog. Most are clients
// and scanners misbehaving (debug); a recovered handler panic is a bug
// (error); accept errors are worth a warning.
type serverLog struct{ log *slog.Logger }

func newServerLog(l *slog.Logger) *log.Logger { return log.New(serverLog{l}, "", 0) }

func (s serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	switch {
	case strings.Contains(msg, "panic serving"):
		s.log.Error("handler panicked", "detail", msg)
	case strings.Contains(msg, "Accept error"):
		s.log.Warn("accepting connections", "detail", msg)
	default:
		s.log.Debug("net/http", "detail", msg)
	}
	return len(p), nil
}
