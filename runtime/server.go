package runtime

import (
	"log"
	stdlog "log"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
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
	// goroutine where it can (see forward.go); transport does the rest.
	forward *forwarder
	// h2c serves the clusters that speak cleartext HTTP/2 (gRPC); nil
	// when there are none.
	h2c *http.Transport
	log *slog.Logger
	// pool holds the proxies' copy buffers; proxyLog is their shared
	// error log.
	pool     bufferPool
	proxyLog *stdlog.Logger
	// proxies maps a *Route to its destinations' proxies (routeproxy.go).
	proxies sync.Map
}

// newEngine builds the engine for a prepared cfg. DNS refreshes stop when
// stop is closed.
func newEngine(cfg *Config, log *slog.Logger, stop <-chan struct{}) *engine {
	e := &engine{cfg: cfg, transport: newTransport(), log: log}
	e.forward = newForwarder(e.transport)
	e.pool = make(bufferPool, 256)
	e.proxyLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	for i := range cfg.Clusters {
		up := newUpstream(&cfg.Clusters[i], stop, log)
		e.ups = append(e.ups, up)
		t := e.clusterTransport(&cfg.Clusters[i])
		if cfg.Clusters[i].HTTP2 {
			if e.h2c == nil {
				e.h2c = newH2CTransport()
			}
			t = e.h2c
		}
		e.transports = append(e.transports, t)
	}
	return e
}

// listenerHandler serves one HTTP listener: Envoy's HTTP connection manager
// and router as Istio configures them at a gateway.
type listenerHandler struct {
	l *Listener
	e *engine
}

func (h *listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		switch guardVerdict(r) {
		case frameBadRequest:
			localReply(w, http.StatusBadRequest, "Bad Request", true)
			return
		case frameTooManyHeaders:
			localReply(w, http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large", true)
			return
		case frameClose:
			// Not on an upgrade: its 101 must say "Connection: Upgrade", and
			// the guard stays lost for whatever follows on the connection.
			if _, up := r.Header["Upgrade"]; !up {
				w.Header()["Connection"] = valClose
			}
		}
		if r.ProtoMinor == 0 {
			// Istio's gateways accept HTTP/1.0 only with PILOT_HTTP10=1.
			localReply(w, http.StatusUpgradeRequired, "Upgrade Required", true)
			return
		}
	}
	l := h.l
	tc := requestTLS(r)
	setClientCert(r)
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
	path, ok := normalizePath(path)
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

// newListenerServer returns the server for one HTTP listener: HTTP/1.1 and
// h2c with prior knowledge (Envoy's AUTO codec on plaintext), Envoy's 60KiB
// header limit and 1h idle timeout, and the framing guard's hook.
func newListenerServer(h http.Handler, log *slog.Logger) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:                      h,
		Protocols:                    &protos,
		MaxHeaderBytes:               60 << 10,
		IdleTimeout:                  time.Hour,
		ConnContext:                  withGuard,
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     newServerLog(log),
	}
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
