package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	gwcrt "github.com/gwc-dev/gwc/runtime"
)

func ptr[T any](v T) *T { return &v }

// ep is an endpoint of pod name at ip.
func ep(ip, pod string, ready, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready), Terminating: ptr(terminating)},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: pod},
	}
}

func slice(name, svc string, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       ports,
		Endpoints:   eps,
	}
}

func port(name string, n int32, app string) discoveryv1.EndpointPort {
	p := discoveryv1.EndpointPort{Name: ptr(name), Port: ptr(n)}
	if app != "" {
		p.AppProtocol = ptr(app)
	}
	return p
}

// svcPort is a Service port number n named name to targetPort target (a
// number or a name).
func svcPort(name string, n int32, target string, app string) corev1.ServicePort {
	p := corev1.ServicePort{Name: name, Port: n, Protocol: corev1.ProtocolTCP, TargetPort: intstr.Parse(target)}
	if app != "" {
		p.AppProtocol = ptr(app)
	}
	return p
}

func kubeService(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func pod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels}}
}

func TestEndpointsOf(t *testing.T) {
	httpPort := []discoveryv1.EndpointPort{port("http", 8080, "")}
	pods := func(ns, name string) (map[string]string, bool) {
		m := map[string]map[string]string{"a": {"version": "v1", "app": "catalog"}, "b": {"version": "v2"}}
		l, ok := m[name]
		return l, ok && ns == "shop"
	}
	for _, tc := range []struct {
		name   string
		svc    gwcrt.ServiceRef
		slices []*discoveryv1.EndpointSlice
		want   gwcrt.EndpointUpdate
	}{{
		name: "no slice: no service (NC)",
		svc:  gwcrt.ServiceRef{Port: 80},
		want: gwcrt.EndpointUpdate{NoService: true},
	}, {
		name:   "a slice without endpoints: an empty set (UH)",
		svc:    gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", httpPort)},
		want:   gwcrt.EndpointUpdate{},
	}, {
		name: "ready endpoints at the only port's targetPort; not ready and terminating left out; unset ready counts as ready",
		svc:  gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", httpPort,
			ep("10.0.0.2", "a", true, false), ep("10.0.0.3", "b", false, false), ep("10.0.0.4", "c", false, true),
			discoveryv1.Endpoint{Addresses: []string{"10.0.0.5"}}),
			slice("s2", "catalog", httpPort, ep("10.0.0.1", "d", true, false))},
		want: gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.5:8080"}},
	}, {
		name: "several ports: the one whose number is the Service port",
		svc:  gwcrt.ServiceRef{Port: 9090},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog",
			[]discoveryv1.EndpointPort{port("http", 8080, ""), port("grpc-api", 9090, "")}, ep("10.0.0.2", "a", true, false))},
		want: gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.2:9090"}, HTTP2: true},
	}, {
		name: "several ports, none numbered as the Service port: none",
		svc:  gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog",
			[]discoveryv1.EndpointPort{port("http", 8080, ""), port("admin", 9090, "")}, ep("10.0.0.2", "a", true, false))},
		want: gwcrt.EndpointUpdate{},
	}, {
		name:   "appProtocol kubernetes.io/h2c is HTTP/2",
		svc:    gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", []discoveryv1.EndpointPort{port("web", 8080, "kubernetes.io/h2c")}, ep("10.0.0.2", "a", true, false))},
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.2:8080"}, HTTP2: true},
	}, {
		name:   "appProtocol wins over the name",
		svc:    gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", []discoveryv1.EndpointPort{port("grpc", 8080, "http")}, ep("10.0.0.2", "a", true, false))},
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.2:8080"}},
	}, {
		name:   "port name prefix http2-",
		svc:    gwcrt.ServiceRef{Port: 80},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", []discoveryv1.EndpointPort{port("http2-web", 8080, "")}, ep("10.0.0.2", "a", true, false))},
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.2:8080"}, HTTP2: true},
	}, {
		name: "a subset takes the pods with all its labels; unknown pods are out",
		svc:  gwcrt.ServiceRef{Port: 80, Labels: []string{"app=catalog", "version=v1"}},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", httpPort,
			ep("10.0.0.2", "a", true, false), ep("10.0.0.3", "b", true, false), ep("10.0.0.4", "gone", true, false))},
		want: gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.2:8080"}},
	}, {
		name:   "a subset no pod matches: empty (UH)",
		svc:    gwcrt.ServiceRef{Port: 80, Labels: []string{"version=v3"}},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", httpPort, ep("10.0.0.2", "a", true, false))},
		want:   gwcrt.EndpointUpdate{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := endpointsOf(tc.svc, service{}, tc.slices, pods)
			if !slices.Equal(got.Addrs, tc.want.Addrs) || got.NoService != tc.want.NoService || got.HTTP2 != tc.want.HTTP2 {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestEndpointsOfService: with the Service known, its port number maps to
// its name and each slice's endpoints are taken at the slice port of that
// name, as istiod does.
func TestEndpointsOfService(t *testing.T) {
	multi := kubeService("catalog",
		svcPort("http", 80, "http-web", ""), svcPort("grpc-api", 9000, "9090", ""), svcPort("metrics", 8080, "9102", "kubernetes.io/h2c"))
	// The named targetPort http-web is 8080 on pod a, 8081 on pod b: the
	// controller puts them in different slices. The slices carry the
	// Service ports' names, not their numbers.
	slices2 := []*discoveryv1.EndpointSlice{
		slice("s1", "catalog", []discoveryv1.EndpointPort{port("http", 8080, ""), port("grpc-api", 9090, ""), port("metrics", 9102, "kubernetes.io/h2c")},
			ep("10.0.0.1", "a", true, false)),
		slice("s2", "catalog", []discoveryv1.EndpointPort{port("http", 8081, ""), port("grpc-api", 9090, ""), port("metrics", 9102, "kubernetes.io/h2c")},
			ep("10.0.0.2", "b", true, false)),
	}
	for _, tc := range []struct {
		name    string
		port    int
		svc     service
		slices  []*discoveryv1.EndpointSlice
		want    gwcrt.EndpointUpdate
		missing bool
	}{{
		name:   "port 80 is named http: a named targetPort resolved per pod",
		port:   80,
		svc:    service{known: true, obj: multi},
		slices: slices2,
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:8080", "10.0.0.2:8081"}},
	}, {
		name:   "port 9000 to targetPort 9090, HTTP/2 by the Service port's name",
		port:   9000,
		svc:    service{known: true, obj: multi},
		slices: slices2,
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:9090", "10.0.0.2:9090"}, HTTP2: true},
	}, {
		name:   "HTTP/2 by the Service port's appProtocol",
		port:   8080,
		svc:    service{known: true, obj: multi},
		slices: slices2,
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:9102", "10.0.0.2:9102"}, HTTP2: true},
	}, {
		name:    "a port the Service does not have: no endpoints (UH), though a slice port has the number",
		port:    9090,
		svc:     service{known: true, obj: multi},
		slices:  slices2,
		want:    gwcrt.EndpointUpdate{},
		missing: true,
	}, {
		name:    "a UDP port of the number is not it",
		port:    53,
		svc:     service{known: true, obj: kubeService("catalog", corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP})},
		slices:  []*discoveryv1.EndpointSlice{slice("s1", "catalog", []discoveryv1.EndpointPort{port("dns", 53, "")}, ep("10.0.0.1", "a", true, false))},
		want:    gwcrt.EndpointUpdate{},
		missing: true,
	}, {
		name:   "an unnamed single port",
		port:   80,
		svc:    service{known: true, obj: kubeService("catalog", svcPort("", 80, "8080", ""))},
		slices: []*discoveryv1.EndpointSlice{slice("s1", "catalog", []discoveryv1.EndpointPort{{Name: ptr(""), Port: ptr(int32(8080))}}, ep("10.0.0.1", "a", true, false))},
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:8080"}},
	}, {
		name: "a Service without slices: an empty cluster (UH), not a missing one",
		port: 80,
		svc:  service{known: true, obj: multi},
		want: gwcrt.EndpointUpdate{},
	}, {
		name:   "Services listed and this one absent: no cluster (NC), whatever slices remain",
		port:   80,
		svc:    service{known: true},
		slices: slices2,
		want:   gwcrt.EndpointUpdate{NoService: true},
	}, {
		name:   "Services not listed yet: the fallback by number",
		port:   9090,
		slices: slices2,
		want:   gwcrt.EndpointUpdate{Addrs: []string{"10.0.0.1:9090", "10.0.0.2:9090"}, HTTP2: true},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := endpointsOf(gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: tc.port}, tc.svc, tc.slices, nil)
			if !slices.Equal(got.Addrs, tc.want.Addrs) || got.NoService != tc.want.NoService || got.HTTP2 != tc.want.HTTP2 || missing != tc.missing {
				t.Errorf("got %+v (missing port %t), want %+v (%t)", got, missing, tc.want, tc.missing)
			}
		})
	}
}

// recorder keeps each target's last update.
type recorder struct {
	mu   sync.Mutex
	last map[string]gwcrt.EndpointUpdate
	ch   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{last: map[string]gwcrt.EndpointUpdate{}, ch: make(chan struct{}, 1000)}
}

func (r *recorder) target(cluster string, svc gwcrt.ServiceRef) gwcrt.DiscoveryTarget {
	return gwcrt.DiscoveryTarget{Cluster: cluster, Service: svc, Update: func(u gwcrt.EndpointUpdate) {
		r.mu.Lock()
		r.last[cluster] = u
		r.mu.Unlock()
		select {
		case r.ch <- struct{}{}:
		default:
		}
	}}
}

// await waits until cluster's last update satisfies ok.
func (r *recorder) await(t *testing.T, cluster string, ok func(gwcrt.EndpointUpdate) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		u, seen := r.last[cluster]
		r.mu.Unlock()
		if seen && ok(u) {
			return
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("cluster %s: last update %+v (seen %t) never became what the test waits for", cluster, u, seen)
		}
	}
}

func addrs(want ...string) func(gwcrt.EndpointUpdate) bool {
	return func(u gwcrt.EndpointUpdate) bool { return !u.NoService && slices.Equal(u.Addrs, want) }
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, client *fake.Clientset, targets []gwcrt.DiscoveryTarget) *Discovery {
	t.Helper()
	d := New()
	d.SyncTimeout = 10 * time.Second
	d.NewClient = func(string) (Client, error) { return client, nil }
	if err := d.Start(quiet(), targets); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if !d.WaitSynced(context.Background()) {
		t.Fatal("not synced")
	}
	return d
}

// TestDiscoveryFollowsChanges drives the informers through the fake
// clientset's object tracker: scaling up and down, a pod terminating, a
// label moving from v1 to v2, the Service going away.
func TestDiscoveryFollowsChanges(t *testing.T) {
	ports := []discoveryv1.EndpointPort{port("http", 8080, "")}
	client := fake.NewClientset(
		kubeService("catalog", svcPort("http", 80, "8080", "")),
		kubeService("other", svcPort("http", 80, "8080", "")),
		slice("catalog-1", "catalog", ports, ep("10.0.0.1", "a", true, false), ep("10.0.0.2", "b", true, false)),
		slice("other-1", "other", ports, ep("10.9.9.9", "x", true, false)),
		pod("a", map[string]string{"version": "v1"}),
		pod("b", map[string]string{"version": "v2"}),
	)
	r := newRecorder()
	d := start(t, client, []gwcrt.DiscoveryTarget{
		r.target("all", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}),
		r.target("v1", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80, Labels: []string{"version=v1"}}),
		r.target("v2", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80, Labels: []string{"version=v2"}}),
		r.target("missing", gwcrt.ServiceRef{Namespace: "shop", Name: "missing", Port: 80}),
	})
	r.await(t, "all", addrs("10.0.0.1:8080", "10.0.0.2:8080"))
	r.await(t, "v1", addrs("10.0.0.1:8080"))
	r.await(t, "v2", addrs("10.0.0.2:8080"))
	r.await(t, "missing", func(u gwcrt.EndpointUpdate) bool { return u.NoService })

	ctx := context.Background()
	sliceAPI := client.DiscoveryV1().EndpointSlices("shop")
	pods := client.CoreV1().Pods("shop")
	// Scale up: a second slice with a new pod.
	if _, err := pods.Create(ctx, pod("c", map[string]string{"version": "v1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sliceAPI.Create(ctx, slice("catalog-2", "catalog", ports, ep("10.0.0.3", "c", true, false)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "all", addrs("10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"))
	r.await(t, "v1", addrs("10.0.0.1:8080", "10.0.0.3:8080"))
	// Pod a terminates: out of every set at once.
	if _, err := sliceAPI.Update(ctx, slice("catalog-1", "catalog", ports, ep("10.0.0.1", "a", false, true), ep("10.0.0.2", "b", true, false)), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "all", addrs("10.0.0.2:8080", "10.0.0.3:8080"))
	r.await(t, "v1", addrs("10.0.0.3:8080"))
	// Pod c's label moves from v1 to v2.
	if _, err := pods.Update(ctx, pod("c", map[string]string{"version": "v2"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "v1", addrs())
	r.await(t, "v2", addrs("10.0.0.2:8080", "10.0.0.3:8080"))
	// Scale down to nothing, then the Service goes: its slices are deleted.
	if err := sliceAPI.Delete(ctx, "catalog-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "all", addrs("10.0.0.2:8080"))
	if err := sliceAPI.Delete(ctx, "catalog-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "all", addrs())
	if err := client.CoreV1().Services("shop").Delete(ctx, "catalog", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "all", func(u gwcrt.EndpointUpdate) bool { return u.NoService })
	r.await(t, "v2", func(u gwcrt.EndpointUpdate) bool { return u.NoService })

	var up []string
	d.Watches(func(ns, res string, ok bool, failures uint64) {
		if ok {
			up = append(up, ns+"/"+res)
		}
	})
	slices.Sort(up)
	if want := []string{"shop/endpointslices", "shop/pods", "shop/services"}; !slices.Equal(up, want) {
		t.Errorf("watches up: %v, want %v", up, want)
	}
}

// TestDiscoveryNoPodsWithoutSubsets: without subset labels nothing reads
// Pods, so the RBAC gwc manifests writes need not allow it.
func TestDiscoveryNoPodsWithoutSubsets(t *testing.T) {
	client := fake.NewClientset(kubeService("catalog", svcPort("http", 80, "8080", "")),
		slice("catalog-1", "catalog", []discoveryv1.EndpointPort{port("http", 8080, "")}, ep("10.0.0.1", "a", true, false)))
	client.PrependReactor("*", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		t.Errorf("pods were read: %s", a.GetVerb())
		return true, nil, errors.New("no pods")
	})
	r := newRecorder()
	start(t, client, []gwcrt.DiscoveryTarget{r.target("all", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80})})
	r.await(t, "all", addrs("10.0.0.1:8080"))
}

// TestDiscoveryForbidden: a watch RBAC refuses keeps the discovery from
// syncing (readiness waits until the bound), counts and logs it naming
// the verb, resource and namespace.
func TestDiscoveryForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "", errors.New("RBAC: access denied"))
	})
	var logs syncBuffer
	d := New()
	d.SyncTimeout = 300 * time.Millisecond
	d.NewClient = func(string) (Client, error) { return client, nil }
	r := newRecorder()
	if err := d.Start(slog.New(slog.NewTextHandler(&logs, nil)), []gwcrt.DiscoveryTarget{r.target("all", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80})}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if d.WaitSynced(context.Background()) {
		t.Fatal("synced although every list is refused")
	}
	var failures uint64
	d.Watches(func(ns, res string, up bool, n uint64) {
		if up && res == "endpointslices" {
			t.Errorf("%s/%s up", ns, res)
		}
		failures += n
	})
	if failures == 0 {
		t.Error("no failure counted")
	}
	for _, want := range []string{"verb=list", "resource=endpointslices", "namespace=shop", "RBAC"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestDiscoveryServicePorts: a multi-port Service whose named targetPort
// resolves to different numbers on different pods, then a live change of
// its ports and of a port's appProtocol, with no EndpointSlice changing:
// the slices carry the ports' names, the Service maps numbers to them.
func TestDiscoveryServicePorts(t *testing.T) {
	client := fake.NewClientset(
		kubeService("catalog", svcPort("http", 80, "web", ""), svcPort("admin", 9000, "9090", "")),
		slice("catalog-a", "catalog", []discoveryv1.EndpointPort{port("http", 8080, ""), port("admin", 9090, "")}, ep("10.0.0.1", "a", true, false)),
		slice("catalog-b", "catalog", []discoveryv1.EndpointPort{port("http", 8081, ""), port("admin", 9090, "")}, ep("10.0.0.2", "b", true, false)),
	)
	var fields []string
	var mu sync.Mutex
	client.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		fields = append(fields, a.(k8stesting.ListAction).GetListRestrictions().Fields.String())
		mu.Unlock()
		return false, nil, nil
	})
	var logs syncBuffer
	d := New()
	d.SyncTimeout = 10 * time.Second
	d.NewClient = func(string) (Client, error) { return client, nil }
	r := newRecorder()
	if err := d.Start(slog.New(slog.NewTextHandler(&logs, nil)), []gwcrt.DiscoveryTarget{
		r.target("web", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}),
		r.target("admin", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 9000}),
		r.target("new", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 7000}),
	}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if !d.WaitSynced(context.Background()) {
		t.Fatal("not synced")
	}
	r.await(t, "web", addrs("10.0.0.1:8080", "10.0.0.2:8081"))
	r.await(t, "admin", addrs("10.0.0.1:9090", "10.0.0.2:9090"))
	r.await(t, "new", addrs())
	mu.Lock()
	if want := []string{"metadata.name=catalog"}; !slices.Equal(fields, want) {
		t.Errorf("Services listed with field selectors %q, want %q", fields, want)
	}
	mu.Unlock()
	missing := `msg="the Service has no TCP port the destination names: requests get 503 UH until it has" discovery=kubernetes namespace=shop service=catalog port=%d`
	if !strings.Contains(logs.String(), fmt.Sprintf(missing, 7000)) {
		t.Errorf("no log line for the missing port 7000:\n%s", logs.String())
	}

	// Port 80 becomes 7000; admin's appProtocol becomes kubernetes.io/h2c.
	if _, err := client.CoreV1().Services("shop").Update(context.Background(),
		kubeService("catalog", svcPort("http", 7000, "web", ""), svcPort("admin", 9000, "9090", "kubernetes.io/h2c")), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "new", addrs("10.0.0.1:8080", "10.0.0.2:8081"))
	r.await(t, "web", addrs())
	r.await(t, "admin", func(u gwcrt.EndpointUpdate) bool { return u.HTTP2 && len(u.Addrs) == 2 })
	for _, want := range []string{fmt.Sprintf(missing, 80),
		`msg="the Service port's protocol changed: the next requests use it" discovery=kubernetes namespace=shop service=catalog port=9000`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if n := strings.Count(logs.String(), fmt.Sprintf(missing, 7000)); n != 1 {
		t.Errorf("the missing port 7000 logged %d times, want once", n)
	}
}

// TestDiscoveryServicesOfANamespace: with two Services in a namespace,
// its Services are watched without a field selector and each target
// follows its own.
func TestDiscoveryServicesOfANamespace(t *testing.T) {
	client := fake.NewClientset(
		kubeService("catalog", svcPort("http", 80, "8080", "")),
		kubeService("orders", svcPort("http", 80, "8081", "")),
		kubeService("unrelated", svcPort("http", 80, "8082", "")),
		slice("catalog-1", "catalog", []discoveryv1.EndpointPort{port("http", 8080, "")}, ep("10.0.0.1", "a", true, false)),
		slice("orders-1", "orders", []discoveryv1.EndpointPort{port("http", 8081, "")}, ep("10.0.0.2", "b", true, false)),
	)
	var fields []string
	var mu sync.Mutex
	client.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		fields = append(fields, a.(k8stesting.ListAction).GetListRestrictions().Fields.String())
		mu.Unlock()
		return false, nil, nil
	})
	r := newRecorder()
	start(t, client, []gwcrt.DiscoveryTarget{
		r.target("catalog", gwcrt.ServiceRef{Namespace: "shop", Name: "catalog", Port: 80}),
		r.target("orders", gwcrt.ServiceRef{Namespace: "shop", Name: "orders", Port: 80}),
	})
	r.await(t, "catalog", addrs("10.0.0.1:8080"))
	r.await(t, "orders", addrs("10.0.0.2:8081"))
	mu.Lock()
	if want := []string{""}; !slices.Equal(fields, want) {
		t.Errorf("Services listed with field selectors %q, want %q", fields, want)
	}
	mu.Unlock()
	if err := client.CoreV1().Services("shop").Delete(context.Background(), "orders", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.await(t, "orders", func(u gwcrt.EndpointUpdate) bool { return u.NoService })
	r.await(t, "catalog", addrs("10.0.0.1:8080"))
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
