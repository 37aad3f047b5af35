package runtime

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchConfig routes a.example.com's /api prefix, behind a few routes that
// do not match, to backend.
func benchConfig(b testing.TB, backend string) *Config {
	toA := []WeightedCluster{{Cluster: 0, Weight: 100}}
	cfg := &Config{
		Listeners: []Listener{{
			Port:     80,
			Protocol: "HTTP",
			Hosts:    hosts(b, map[string]int32{"a.example.com": 0, "b.example.com": 0}, nil, -1),
			VirtualHosts: []VirtualHost{{Domain: "a.example.com", Routes: []Route{
				{ID: "exact", Matches: []Match{{Path: exact("/login")}}, Clusters: toA},
				{ID: "header", Matches: []Match{{Path: prefix("/api"), Headers: []HeaderMatch{{Name: "x-canary", Match: exact("1")}}}}, Clusters: toA},
				{ID: "regex", Matches: []Match{{Path: regex(`/items/[0-9]+`)}}, Clusters: toA},
				{ID: "api", Matches: []Match{{Path: prefix("/api")}}, Clusters: toA},
			}}},
		}},
		Clusters: []Cluster{staticCluster("a", backend)},
	}
	if err := cfg.Prepare(); err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkSelect measures host lookup and route selection.
func BenchmarkSelect(b *testing.B) {
	cfg := benchConfig(b, "127.0.0.1:1")
	l := &cfg.Listeners[0]
	r := httptest.NewRequest("GET", "/api/users/42?page=2", nil)
	r.Host = "A.example.com:8080"
	b.ReportAllocs()
	for b.Loop() {
		vi := l.Hosts.Lookup(r.Host)
		if vi < 0 || l.VirtualHosts[vi].Select(r) != 3 {
			b.Fatal("wrong route")
		}
	}
}

// BenchmarkHandler measures one request through the listener's handler:
// route selection and the proxy to a local backend over a kept-alive
// connection.
func BenchmarkHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cfg := benchConfig(b, srv.Listener.Addr().String())
	stop := make(chan struct{})
	defer close(stop)
	e := newEngine(cfg, slog.New(slog.DiscardHandler), stop)
	defer e.transport.CloseIdleConnections()
	h := &listenerHandler{l: &cfg.Listeners[0], e: e}
	r := httptest.NewRequest("GET", "/api/users/42?page=2", nil)
	r.Host = "a.example.com"
	r.Header.Set("User-Agent", "bench")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.String() != "ok" {
			b.Fatalf("%d %q", w.Code, w.Body)
		}
	}
}

// BenchmarkGateway measures a request end to end: a client over a kept-alive
// connection to the gateway's listener, proxied to a local backend.
func BenchmarkGateway(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	g := startGateway(b, benchConfig(b, srv.Listener.Addr().String()))
	c := client()
	req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/api/users/42", nil)
	req.Host = "a.example.com"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
