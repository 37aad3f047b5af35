package runtime

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// fakeDiscovery publishes what the test tells it, as runtime/kubernetes
// does.
type fakeDiscovery struct {
	targets []DiscoveryTarget
	synced  bool
	stopped bool
}

func (f *fakeDiscovery) RegisterFlags(*flag.FlagSet) {}
func (f *fakeDiscovery) Start(_ *slog.Logger, ts []DiscoveryTarget) error {
	f.targets = ts
	return nil
}
func (f *fakeDiscovery) WaitSynced(context.Context) bool                 { return f.synced }
func (f *fakeDiscovery) Watches(func(ns, res string, up bool, n uint64)) {}
func (f *fakeDiscovery) Stop()                                           { f.stopped = true }

// TestDiscoveredEndpointsSwap: a discovered cluster's endpoint set is
// replaced whole; the hosts that stay keep their state (requests in
// flight, ejections), the ones that leave have their connections retired,
// and a Service that does not exist is NC, not UH.
func TestDiscoveredEndpointsSwap(t *testing.T) {
	d := &fakeDiscovery{synced: true}
	cfg := &Config{Clusters: []Cluster{
		{Name: "static", Endpoints: []Endpoint{{Address: "10.0.0.1:80"}}},
		{Name: "kube", Service: &ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}},
	}, Discovery: d}
	if err := startDiscovery(context.Background(), cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(d.targets) != 1 || d.targets[0].Cluster != "kube" || d.targets[0].Service.Name != "catalog" {
		t.Fatalf("targets: %+v", d.targets)
	}
	update := d.targets[0].Update
	stop := make(chan struct{})
	defer close(stop)
	u := newUpstream(&cfg.Clusters[1], stop, slog.New(slog.DiscardHandler), nil)
	var mu sync.Mutex
	var retired []string
	closer := func(addrs []string) {
		mu.Lock()
		retired = append(retired, addrs...)
		mu.Unlock()
	}
	u.disc.closer.Store(&closer)

	// Before the first update: no endpoints, UH.
	if s := u.endpoints(context.Background()); len(s.addrs) != 0 || u.noEndpoints() != errNoHealthyUpstream {
		t.Fatalf("before any update: %v, %v", s.addrs, u.noEndpoints())
	}
	update(EndpointUpdate{Addrs: []string{"10.1.0.1:8080", "10.1.0.2:8080"}})
	s1 := u.endpoints(context.Background())
	v1 := u.view(s1)
	if !slices.Equal(s1.addrs, []string{"10.1.0.1:8080", "10.1.0.2:8080"}) {
		t.Fatalf("first set: %v", s1.addrs)
	}
	kept := v1.hosts[1]
	kept.active.Add(3)
	kept.ejected.Store(true)

	update(EndpointUpdate{Addrs: []string{"10.1.0.2:8080", "10.1.0.3:8080"}})
	s2 := u.endpoints(context.Background())
	v2 := u.view(s2)
	if !slices.Equal(s2.addrs, []string{"10.1.0.2:8080", "10.1.0.3:8080"}) {
		t.Fatalf("second set: %v", s2.addrs)
	}
	if v2.hosts[0] != kept || kept.active.Load() != 3 || !kept.ejected.Load() || u.ejectedCount.Load() != 1 {
		t.Errorf("the host that stayed lost its state: %p vs %p, active %d, ejected %t, count %d",
			v2.hosts[0], kept, kept.active.Load(), kept.ejected.Load(), u.ejectedCount.Load())
	}
	mu.Lock()
	if !slices.Equal(retired, []string{"10.1.0.1:8080"}) {
		t.Errorf("retired %v, want the address that left", retired)
	}
	mu.Unlock()
	// The old set is untouched: a request holding it finishes with it.
	if !slices.Equal(s1.addrs, []string{"10.1.0.1:8080", "10.1.0.2:8080"}) {
		t.Errorf("the old set changed: %v", s1.addrs)
	}

	update(EndpointUpdate{})
	if s := u.endpoints(context.Background()); len(s.addrs) != 0 || u.noEndpoints() != errNoHealthyUpstream {
		t.Errorf("no ready endpoint: %v, %v; want none and UH", s.addrs, u.noEndpoints())
	}
	update(EndpointUpdate{NoService: true})
	if u.noEndpoints() != errClusterNotFound {
		t.Errorf("no Service: %v, want cluster not found (NC)", u.noEndpoints())
	}
}

// TestDiscoveredProtocolFollowsThePort: a discovered cluster speaks the
// protocol its port has now: HTTP/1.1, then cleartext HTTP/2 once the
// port's appProtocol says so, then HTTP/1.1 again, with no restart (as
// istiod pushes a changed cluster to Envoy).
func TestDiscoveredProtocolFollowsThePort(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	be.Config.Protocols = new(http.Protocols)
	be.Config.Protocols.SetHTTP1(true)
	be.Config.Protocols.SetUnencryptedHTTP2(true)
	be.Start()
	t.Cleanup(be.Close)
	var update func(EndpointUpdate)
	d := &startHook{fakeDiscovery: &fakeDiscovery{synced: true}, onStart: func(ts []DiscoveryTarget) {
		update = ts[0].Update
		update(EndpointUpdate{Addrs: []string{hostPort(be)}})
	}}
	cfg := oneRoute(t, []Cluster{{Name: "kube", Service: &ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}}})
	cfg.Discovery = d
	g := startGateway(t, cfg)
	for _, step := range []struct {
		http2 bool
		want  string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}, {false, "HTTP/1.1"}} {
		update(EndpointUpdate{Addrs: []string{hostPort(be)}, HTTP2: step.http2})
		for _, method := range []string{"GET", "POST"} { // the lean path and ReverseProxy
			if _, body := g.do(t, client(), 80, method, "h", "/", nil); body != step.want {
				t.Errorf("%s with http2 %t: the backend saw %q, want %q", method, step.http2, body, step.want)
			}
		}
		resp, err := client().Get("http://" + g.admin + "/config_dump")
		if err != nil {
			t.Fatal(err)
		}
		var dump struct{ Clusters []struct{ HTTP2 bool } }
		json.NewDecoder(resp.Body).Decode(&dump)
		resp.Body.Close()
		if len(dump.Clusters) != 1 || dump.Clusters[0].HTTP2 != step.http2 {
			t.Errorf("/config_dump clusters %+v, want http2 %t", dump.Clusters, step.http2)
		}
	}
}

// startHook runs onStart with the targets, as informers that list at once.
type startHook struct {
	*fakeDiscovery
	onStart func([]DiscoveryTarget)
}

func (s *startHook) Start(log *slog.Logger, ts []DiscoveryTarget) error {
	s.fakeDiscovery.Start(log, ts)
	s.onStart(ts)
	return nil
}

// TestDiscoveredClusterUpgraded: a discovered cluster the compiler made
// HTTP/2 (h2UpgradePolicy: UPGRADE) stays HTTP/2 whatever its port says.
func TestDiscoveredClusterUpgraded(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	be.Config.Protocols = new(http.Protocols)
	be.Config.Protocols.SetHTTP1(true)
	be.Config.Protocols.SetUnencryptedHTTP2(true)
	be.Start()
	t.Cleanup(be.Close)
	d := &startHook{fakeDiscovery: &fakeDiscovery{synced: true}, onStart: func(ts []DiscoveryTarget) {
		ts[0].Update(EndpointUpdate{Addrs: []string{hostPort(be)}})
	}}
	cfg := oneRoute(t, []Cluster{{Name: "kube", HTTP2: true, Service: &ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}}})
	cfg.Discovery = d
	g := startGateway(t, cfg)
	if _, body := g.do(t, client(), 80, "GET", "h", "/", nil); body != "HTTP/2.0" {
		t.Errorf("the backend saw %q, want HTTP/2.0", body)
	}
}
