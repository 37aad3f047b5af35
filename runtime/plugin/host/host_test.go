package host

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

func TestSelects(t *testing.T) {
	s := Spec{Matches: []Match{
		{Ports: []int{80}, Hosts: []string{"*.example.com"}},
		{Routes: []string{"r1"}},
	}}
	cases := []struct {
		port        int
		host, route string
		want        bool
	}{
		{80, "a.example.com", "x", true},
		{80, "A.Example.com:80", "x", true},
		{80, "example.com", "x", false},
		{8080, "a.example.com", "x", false},
		{8080, "other", "r1", true},
		{80, "[::1]", "x", false},
	}
	for _, c := range cases {
		if got := s.Selects(c.port, c.host, c.route); got != c.want {
			t.Errorf("Selects(%d, %q, %q) = %t, want %t", c.port, c.host, c.route, got, c.want)
		}
	}
	if !(&Spec{}).Selects(1, "x", "y") {
		t.Error("a spec without matches must select everything")
	}
}

// startChain builds an example plugin and starts a chain with it.
func startChain(tb testing.TB, pkg, config string) *Chain {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "plugin")
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	c := New([]Spec{{Name: "test/p", Path: bin, Config: []byte(config), Timeout: time.Second}})
	if err := c.Start(slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Stop)
	return c
}

func TestDenyAndContinue(t *testing.T) {
	c := startChain(t, "../../../examples/plugins/apikey", `{"keys":{"alice":"k1"}}`)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://shop.example.com/", nil)
	if _, answered := c.Request(w, r, 80, "route"); !answered || w.Code != 401 {
		t.Fatalf("no key: answered %t, code %d", answered, w.Code)
	}
	w = httptest.NewRecorder()
	r.Header.Set("X-Api-Key", "k1")
	if _, answered := c.Request(w, r, 80, "route"); answered {
		t.Fatalf("good key answered %d", w.Code)
	}
	if r.Header.Get("X-Api-Key-Name") != "alice" || r.Header.Get("X-Api-Key") != "" {
		t.Errorf("request headers after the hook: %v", r.Header)
	}
}

// BenchmarkRequest measures what one plugin adds to a request: with
// apikey a request hook, with header a request and a response hook.
// p50-ns and p99-ns are per request.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct{ name, pkg, config string }{
		{"apikey", "../../../examples/plugins/apikey", `{"keys":{"alice":"k1"}}`},
		{"header", "../../../examples/plugins/header", `{"via":"edge-1"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := startChain(b, bc.pkg, bc.config)
			r := httptest.NewRequest("GET", "http://shop.example.com/api/items?page=2", nil)
			r.Header.Set("User-Agent", "bench")
			r.Header.Set("Accept", "*/*")
			times := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Header.Set("X-Api-Key", "k1")
				start := time.Now()
				w, answered := c.Request(discard{}, r, 80, "vs.yaml:9:13 shop/shop http[0]")
				if !answered {
					w.WriteHeader(200)
				}
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(times)
			if len(times) > 0 {
				b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
			}
		})
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

func TestLocalReply(t *testing.T) {
	w := httptest.NewRecorder()
	localReply(w, sdk.Redirect(0, "https://login.example.com/"))
	if w.Code != 302 || w.Header().Get("Location") != "https://login.example.com/" {
		t.Errorf("redirect: %d %v", w.Code, w.Header())
	}
	w = httptest.NewRecorder()
	localReply(w, sdk.Deny(0, "no").SetHeader("X-Why", "policy"))
	if w.Code != 403 || w.Body.String() != "no" || w.Header().Get("X-Why") != "policy" || w.Header().Get("Content-Length") != "2" {
		t.Errorf("deny: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
	w = httptest.NewRecorder()
	localReply(w, sdk.Deny(42, ""))
	if w.Code != 403 {
		t.Errorf("deny with status 42: %d, want 403", w.Code)
	}
}

// BenchmarkPing is the floor under BenchmarkRequest: go-plugin's own gRPC
// health check to the same plugin process, no gwc message at all.
func BenchmarkPing(b *testing.B) {
	c := startChain(b, "../../../examples/plugins/apikey", `{"keys":{"alice":"k1"}}`)
	rpc, err := c.plugins[0].cur.Load().client.Client()
	if err != nil {
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if err := rpc.Ping(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
	}
}
