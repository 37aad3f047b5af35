package runtime

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// BenchmarkObservability measures one request through the listener's
// handler to a local backend, bare and with metrics and the access log on
// (to /dev/null, so the figure is the formatting and queueing, not a disk).
func BenchmarkObservability(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cfg := benchConfig(b, srv.Listener.Addr().String())
	stop := make(chan struct{})
	defer close(stop)
	log := slog.New(slog.DiscardHandler)
	e := newEngine(cfg, log, stop)
	defer e.transport.CloseIdleConnections()
	bare := &listenerHandler{l: &cfg.Listeners[0], e: e}

	run := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest("GET", "/api/users/42?page=2", nil)
		r.Host = "a.example.com"
		r.Header.Set("User-Agent", "bench")
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%d %q", w.Code, w.Body)
			}
		}
	}
	b.Run("off", func(b *testing.B) { run(b, bare) })
	b.Run("metrics", func(b *testing.B) {
		ob, err := newObserver(cfg, &obsOptions{}, log)
		if err != nil {
			b.Fatal(err)
		}
		ob.attach(e)
		run(b, ob.wrap(bare, "127.0.0.1:80"))
	})
	b.Run("metrics+accesslog", func(b *testing.B) {
		ob, err := newObserver(cfg, &obsOptions{accessLog: os.DevNull, accessLogFormat: "text"}, log)
		if err != nil {
			b.Fatal(err)
		}
		defer ob.close()
		ob.attach(e)
		run(b, ob.wrap(bare, "127.0.0.1:80"))
	})
}

// BenchmarkObserveCost isolates what observability adds per request: the
// wrapped handler only writes a short body, so the difference between the
// sub-benchmarks is the exchange, the series update and the log line.
func BenchmarkObserveCost(b *testing.B) {
	cfg := benchConfig(b, "127.0.0.1:1")
	log := slog.New(slog.DiscardHandler)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noteRoute(w, &cfg.Listeners[0].VirtualHosts[0].Routes[3], 0)
		io.WriteString(w, "ok")
	})
	run := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest("GET", "/api/users/42?page=2", nil)
		r.Host = "a.example.com"
		r.Header.Set("User-Agent", "bench")
		r.Header.Set("X-Request-Id", "fixed")
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	}
	b.Run("off", func(b *testing.B) { run(b, inner) })
	b.Run("metrics", func(b *testing.B) {
		ob, _ := newObserver(cfg, &obsOptions{}, log)
		run(b, ob.wrap(inner, "127.0.0.1:80"))
	})
	b.Run("metrics+accesslog", func(b *testing.B) {
		ob, err := newObserver(cfg, &obsOptions{accessLog: os.DevNull, accessLogFormat: "text"}, log)
		if err != nil {
			b.Fatal(err)
		}
		defer ob.close()
		run(b, ob.wrap(inner, "127.0.0.1:80"))
	})
	b.Run("metrics+accesslog-json", func(b *testing.B) {
		ob, err := newObserver(cfg, &obsOptions{accessLog: os.DevNull, accessLogFormat: "json"}, log)
		if err != nil {
			b.Fatal(err)
		}
		defer ob.close()
		run(b, ob.wrap(inner, "127.0.0.1:80"))
	})
}
