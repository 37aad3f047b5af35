package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gwc-dev/gwc/internal/kubeapi"
)

// The Kubernetes end-to-end test: a binary built with --endpoints
// kubernetes, its informers talking to a small API server written for the
// test (internal/kubeapi: list and watch in JSON, resourceVersion,
// bookmarks, 410 Gone), pods played by real backends on loopback
// addresses 127.0.0.2.. (one port, as pods share a targetPort). A
// multi-port Service whose ports' targetPorts differ from their numbers
// (one named, resolving to a different number on each pod) is resolved
// through the Service, and follows a change of its ports. While a client
// keeps sending, the test scales the Service up and down, marks pods
// terminating, moves a label from v1 to v2 and ends the watches with 410
// Gone: no request that could have succeeded may fail.

const kubeRoutes = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: catalog, namespace: shop}
spec:
  host: catalog
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [shop-gw]
  http:
  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: catalog, subset: v1, port: {number: 80}}}]
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: catalog, subset: v2, port: {number: 80}}}]
  - match: [{uri: {prefix: /missing}}]
    route: [{destination: {host: nothere, port: {number: 80}}}]
  - match: [{uri: {prefix: /h2c}}]
    route: [{destination: {host: greeter, port: {number: 80}}}]
  - match: [{uri: {prefix: /inventory/admin}}]
    route: [{destination: {host: inventory, port: {number: 9000}}}]
  - match: [{uri: {prefix: /inventory}}]
    route: [{destination: {host: inventory, port: {number: 80}}}]
  - route: [{destination: {host: catalog, port: {number: 80}}}]
`

// pods are backends on loopback addresses, all on one port.
type pods struct {
	port int
	srvs map[string]*http.Server // by IP
}

// startPods starts one backend on each ip, on a port free on all of them;
// each answers with its IP.
func startPods(t *testing.T, ips ...string) *pods {
	t.Helper()
	for range 20 {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatalf("listening on %s: %v", ips[0], err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < len(ips) {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		p := &pods{port: port, srvs: map[string]*http.Server{}}
		for i, ip := range ips {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, ip) })}
			p.srvs[ip] = srv
			go srv.Serve(lns[i])
			t.Cleanup(func() { srv.Close() })
		}
		return p
	}
	t.Fatalf("no port free on all of %v", ips)
	return nil
}

// stop ends pod ip's backend gracefully, as a terminated pod's process
// finishes the requests it has.
func (p *pods) stop(t *testing.T, ip string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.srvs[ip].Shutdown(ctx); err != nil {
		t.Errorf("stopping pod %s: %v", ip, err)
	}
}

type podEP struct {
	ip, name    string
	terminating bool
}

func (p *pods) slice(name string, eps ...podEP) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "catalog"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("http"), Port: ptrTo(int32(p.port))}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{e.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(!e.terminating), Serving: ptrTo(true), Terminating: ptrTo(e.terminating)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: e.name},
		})
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

// kubeService is Service shop/name with ports.
func kubeService(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Spec: corev1.ServiceSpec{Ports: ports}}
}

// catalogService is the catalog Service: port 80 to the pods' port.
func (p *pods) catalogService() *corev1.Service {
	return kubeService("catalog", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(p.port))})
}

// backendOn serves body on ip at a port other than the ones in not, and
// returns the port.
func backendOn(t *testing.T, ip, body string, not ...int) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatalf("listening on %s: %v", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if slices.Contains(not, port) {
			ln.Close()
			continue
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) })}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return port
	}
	t.Fatalf("no port on %s other than %v", ip, not)
	return 0
}

func kubePod(name, version string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "catalog", "version": version}}}
}

func TestKubernetesEndpointsEndToEnd(t *testing.T) {
	const a, b, c, d, e, f = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.7", "127.0.0.8"
	pp := startPods(t, a, b, c, d)
	api := kubeapi.Start(t)
	api.Set(kubePod("a", "v1"))
	api.Set(kubePod("b", "v1"))
	api.Set(pp.catalogService())
	api.Set(pp.slice("catalog-1", podEP{ip: a, name: "a"}, podEP{ip: b, name: "b"}))
	// A gRPC-style Service: its port's appProtocol says cleartext HTTP/2.
	setGreeter(t, api)
	// A multi-port Service whose targetPorts differ from its ports: port
	// 80 to the named port web, 8080 on pod e and another number on pod
	// f (so the controller puts them in two slices), and port 9000 to
	// number admin.port. The slices carry the Service ports' names and
	// the resolved numbers, never 80 or 9000.
	admin := startPods(t, e, f)
	webE := backendOn(t, e, "web e", admin.port)
	webF := backendOn(t, f, "web f", admin.port, webE)
	inventory := func(adminPort int32) *corev1.Service {
		return kubeService("inventory",
			corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
			corev1.ServicePort{Name: "admin", Port: adminPort, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(admin.port))})
	}
	api.Set(inventory(9000))
	for _, p := range []struct {
		ip, name string
		web      int
	}{{e, "e", webE}, {f, "f", webF}} {
		api.Set(&discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "inventory-" + p.name, Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "inventory"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("http"), Port: ptrTo(int32(p.web))}, {Name: ptrTo("admin"), Port: ptrTo(int32(admin.port))}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{p.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: p.name}}},
		})
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(api.Kubeconfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildIngressWith(t, []string{"--endpoints", "kubernetes"}, map[string]string{"gateway.yaml": shopGateway, "routes.yaml": kubeRoutes})
	in := startIngressWith(t, bin, []string{"--kubeconfig", kubeconfig, "--endpoints-sync-timeout", "20s"}, 80)
	adminAddr := adminBound.FindStringSubmatch(in.logs())
	if adminAddr == nil {
		t.Fatalf("no admin address in the log:\n%s", in.logs())
	}
	base := in.url(80)
	client := &http.Client{Timeout: 10 * time.Second}

	// The endpoints are known before the ingress says it is ready.
	answered := func(path string, n int) []string {
		t.Helper()
		var seen []string
		for range n {
			status, body := get(t, client, base+path, "shop.example.com")
			if status != 200 {
				t.Fatalf("GET %s: %d %q", path, status, body)
			}
			if !slices.Contains(seen, body) {
				seen = append(seen, body)
			}
		}
		slices.Sort(seen)
		return seen
	}
	if got := answered("/", 40); !slices.Equal(got, []string{a, b}) {
		t.Errorf("/ reached %v, want %v", got, []string{a, b})
	}
	// An empty subset: 503 UH; a Service without EndpointSlices: 503 NC.
	if status, body := get(t, client, base+"/v2", "shop.example.com"); status != 503 || body != "no healthy upstream" {
		t.Errorf("/v2 (no pod has version=v2): %d %q, want 503 no healthy upstream", status, body)
	}
	if status, _ := get(t, client, base+"/missing", "shop.example.com"); status != 503 {
		t.Errorf("/missing (no such Service): %d, want 503", status)
	}
	if status, body := get(t, client, base+"/h2c", "shop.example.com"); status != 200 || body != "HTTP/2.0" {
		t.Errorf("/h2c (appProtocol kubernetes.io/h2c): %d %q, want 200 from HTTP/2", status, body)
	}
	if got, want := answered("/inventory", 20), []string{"web e", "web f"}; !slices.Equal(got, want) {
		t.Errorf("/inventory (Service port 80, targetPort web: %d on e, %d on f) reached %v, want %v", webE, webF, got, want)
	}
	if got, want := answered("/inventory/admin", 20), []string{e, f}; !slices.Equal(got, want) {
		t.Errorf("/inventory/admin (Service port 9000, targetPort %d) reached %v, want %v", admin.port, got, want)
	}
	counts := requestCounts(in.scrape(t))
	if counts["503 UH"] != 1 || counts["503 NC"] != 1 {
		t.Errorf("istio_requests_total by code and flags: %v, want one 503 UH and one 503 NC", counts)
	}

	// The Service's port 9000 becomes 9001, no slice changing: the
	// destination's port 9000 has no endpoints (503 UH) and a log line
	// says why; back to 9000, traffic follows again.
	const adminCluster = "outbound|9000||inventory.shop.svc.cluster.local"
	api.Set(inventory(9001))
	followAddrs := func(step, cluster string, want ...string) {
		t.Helper()
		slices.Sort(want)
		start := time.Now()
		for got := clusterEndpoints(t, adminAddr[1], cluster); !slices.Equal(got, want); got = clusterEndpoints(t, adminAddr[1], cluster) {
			if time.Since(start) > 20*time.Second {
				t.Fatalf("%s: cluster %s has %v, want %v", step, cluster, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: the endpoints followed in %s", step, time.Since(start).Round(time.Millisecond))
	}
	followAddrs("Service port renumbered", adminCluster)
	if status, body := get(t, client, base+"/inventory/admin", "shop.example.com"); status != 503 || body != "no healthy upstream" {
		t.Errorf("/inventory/admin after the Service lost port 9000: %d %q, want 503 no healthy upstream", status, body)
	}
	waitLog(t, in, regexp.MustCompile(`msg="the Service has no TCP port the destination names: requests get 503 UH until it has" .*service=inventory port=9000`))
	api.Set(inventory(9000))
	followAddrs("Service port restored", adminCluster,
		net.JoinHostPort(e, fmt.Sprint(admin.port)), net.JoinHostPort(f, fmt.Sprint(admin.port)))
	if got, want := answered("/inventory/admin", 20), []string{e, f}; !slices.Equal(got, want) {
		t.Errorf("/inventory/admin after the Service port came back reached %v, want %v", got, want)
	}

	// A client keeps sending to the Service and to subset v1, which always
	// have a ready pod below: every request must succeed.
	var sent, failed atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, path := range []string{"/", "/v1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for i := 0; i < 100000; i++ { // bounded; stopped long before
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Host = "shop.example.com"
				resp, err := c.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					failures.Store(path+": "+err.Error(), true)
					continue
				}
				var body [64]byte
				n, _ := resp.Body.Read(body[:])
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					failures.Store(fmt.Sprintf("%s: %d %q", path, resp.StatusCode, body[:n]), true)
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
		if failed.Load() > 0 {
			var list []string
			failures.Range(func(k, _ any) bool { list = append(list, k.(string)); return true })
			t.Errorf("%d of %d requests under change failed: %v", failed.Load(), sent.Load(), list)
		}
		t.Logf("%d requests sent while the endpoints changed", sent.Load())
	}()

	// follow waits until the cluster's endpoints are want, as /clusters
	// shows them, and traffic reaches exactly them.
	follow := func(step, cluster, path string, want ...string) {
		t.Helper()
		var addrs []string
		for _, ip := range want {
			addrs = append(addrs, net.JoinHostPort(ip, fmt.Sprint(pp.port)))
		}
		slices.Sort(addrs)
		start := time.Now()
		for {
			got := clusterEndpoints(t, adminAddr[1], cluster)
			if slices.Equal(got, addrs) {
				break
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("%s: cluster %s has %v, want %v", step, cluster, got, addrs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: the endpoints followed in %s", step, time.Since(start).Round(time.Millisecond))
		if len(want) == 0 {
			return
		}
		sorted := slices.Sorted(slices.Values(want))
		if got := answered(path, 12*len(want)); !slices.Equal(got, sorted) {
			t.Errorf("%s: %s reached %v, want %v", step, path, got, sorted)
		}
	}
	const all, v1, v2 = "outbound|80||catalog.shop.svc.cluster.local", "outbound|80|v1|catalog.shop.svc.cluster.local", "outbound|80|v2|catalog.shop.svc.cluster.local"

	// Scale up: pod c in a second slice.
	api.Set(kubePod("c", "v1"))
	api.Set(pp.slice("catalog-2", podEP{ip: c, name: "c"}))
	follow("scale up", all, "/", a, b, c)
	follow("scale up", v1, "/v1", a, b, c)

	// Pod a terminates: it leaves every set, then its process ends, then
	// its endpoint goes.
	api.Set(pp.slice("catalog-1", podEP{ip: a, name: "a", terminating: true}, podEP{ip: b, name: "b"}))
	follow("terminating", all, "/", b, c)
	follow("terminating", v1, "/v1", b, c)
	pp.stop(t, a)
	api.Set(pp.slice("catalog-1", podEP{ip: b, name: "b"}))
	api.Delete(kubePod("a", "v1"))

	// Pod b's label moves from v1 to v2.
	api.Set(kubePod("b", "v2"))
	follow("label move", v2, "/v2", b)
	follow("label move", v1, "/v1", c)
	follow("label move", all, "/", b, c)

	// The API server ends every watch with 410 Gone: the informers relist
	// and the ingress keeps serving and following.
	lists := api.Lists("endpointslices")
	api.Expire()
	for start := time.Now(); !relisted.MatchString(in.logs()); {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the ingress did not relist after 410 Gone (lists answered: %d before, %d now)", lists, api.Lists("endpointslices"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	api.Set(kubePod("d", "v1"))
	api.Set(pp.slice("catalog-2", podEP{ip: c, name: "c"}, podEP{ip: d, name: "d"}))
	follow("after the relist", all, "/", b, c, d)
	follow("after the relist", v1, "/v1", c, d)

	// Scale down: pod c terminates and goes.
	api.Set(pp.slice("catalog-2", podEP{ip: c, name: "c", terminating: true}, podEP{ip: d, name: "d"}))
	follow("scale down", all, "/", b, d)
	follow("scale down", v1, "/v1", d)
	pp.stop(t, c)
	api.Set(pp.slice("catalog-2", podEP{ip: d, name: "d"}))
	api.Delete(kubePod("c", "v1"))
	follow("scale down", all, "/", b, d)

	if up := watchesUp(t, in); up != 3 {
		t.Errorf("gwc_endpoint_watch_up: %d watches up, want 3 (services, endpointslices and pods in shop)", up)
	}

	// The API server goes down: the last endpoints keep serving (the
	// clients above keep sending), a log line and the metric say so, and
	// the binary does not exit; back up, the watches resume.
	api.SetDown(true)
	waitLog(t, in, apiUnreachable)
	for start := time.Now(); watchesUp(t, in) == 3; {
		if time.Since(start) > 20*time.Second {
			t.Fatal("gwc_endpoint_watch_up stays 1 while the API server is down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := answered("/", 20); !slices.Equal(got, []string{b, d}) {
		t.Errorf("with the API server down, / reached %v, want %v", got, []string{b, d})
	}
	api.SetDown(false)
	waitLog(t, in, apiReachable)
	api.Set(pp.slice("catalog-2", podEP{ip: d, name: "d"}, podEP{ip: c, name: "c", terminating: true}))
	api.Set(pp.slice("catalog-1", podEP{ip: a, name: "a", terminating: true}))
	follow("after the outage", all, "/", d)
	select {
	case <-in.exited:
		t.Fatalf("the ingress exited: %v", in.err)
	default:
	}
}

var (
	apiUnreachable = regexp.MustCompile(`msg="Kubernetes API unreachable: keeping the last known endpoints and retrying" .*namespace=shop`)
	apiReachable   = regexp.MustCompile(`msg="Kubernetes API reachable again"`)
)

// waitLog waits until the ingress has logged a line re matches.
func waitLog(t *testing.T, in *ingress, re *regexp.Regexp) {
	t.Helper()
	for start := time.Now(); !re.MatchString(in.logs()); {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no log line matching %s:\n%s", re, in.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watchesUp counts the watches gwc_endpoint_watch_up says are up.
func watchesUp(t *testing.T, in *ingress) int {
	t.Helper()
	up := 0
	for _, m := range in.scrape(t)["gwc_endpoint_watch_up"].GetMetric() {
		if m.GetGauge().GetValue() == 1 {
			up++
		}
	}
	return up
}

// clusterEndpoints returns a cluster's endpoints from the admin /clusters.
func clusterEndpoints(t *testing.T, admin, cluster string) []string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Clusters []struct {
			Name      string   `json:"name"`
			Endpoints []string `json:"endpoints"`
		} `json:"clusters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out.Clusters {
		if c.Name == cluster {
			eps := slices.Clone(c.Endpoints)
			slices.Sort(eps)
			return eps
		}
	}
	t.Fatalf("no cluster %s in /clusters", cluster)
	return nil
}

var relisted = regexp.MustCompile(`msg=relisted .*resource=endpointslices namespace=shop`)

// setGreeter gives the API server a gRPC-style Service, greeter, whose
// port's appProtocol says cleartext HTTP/2, with one endpoint: an h2c
// backend on 127.0.0.6.
func setGreeter(t *testing.T, api *kubeapi.Server) {
	t.Helper()
	h2Port := h2cBackend(t, "127.0.0.6")
	api.Set(kubeService("greeter", corev1.ServicePort{Name: "api", Port: 80, Protocol: corev1.ProtocolTCP,
		TargetPort: intstr.FromInt32(int32(h2Port)), AppProtocol: ptrTo("kubernetes.io/h2c")}))
	api.Set(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "greeter-1", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "greeter"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptrTo("api"), Port: ptrTo(int32(h2Port)), AppProtocol: ptrTo("kubernetes.io/h2c")}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)}}},
	})
}

// h2cBackend serves cleartext HTTP/2 only (prior knowledge), as a gRPC
// server does, answering with the protocol the request came in; it
// returns the port.
func h2cBackend(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("listening on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.Proto) })}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestKubernetesSyncBound: with the API server down at start, the ingress
// is not ready until --endpoints-sync-timeout, then serves what it knows
// (nothing: 503 UH) and follows the endpoints once the server is back,
// with their protocol: the gRPC-style Service, first seen then, gets
// HTTP/2.
func TestKubernetesSyncBound(t *testing.T) {
	pp := startPods(t, "127.0.0.2")
	api := kubeapi.Start(t)
	api.SetDown(true)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(api.Kubeconfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildIngressWith(t, []string{"--endpoints", "kubernetes"}, map[string]string{"gateway.yaml": shopGateway, "routes.yaml": kubeRoutes})
	in := startIngressWith(t, bin, []string{"--kubeconfig", kubeconfig, "--endpoints-sync-timeout", "1s"}, 80)
	for _, re := range []*regexp.Regexp{apiUnreachable, regexp.MustCompile(`msg="endpoint discovery not synced at the bound`)} {
		if !re.MatchString(in.logs()) {
			t.Errorf("no log line matching %s before ready:\n%s", re, in.logs())
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if status, body := get(t, client, in.url(80)+"/", "shop.example.com"); status != 503 || body != "no healthy upstream" {
		t.Errorf("before the first list: %d %q, want 503 no healthy upstream", status, body)
	}
	api.Set(kubePod("a", "v1"))
	api.Set(pp.catalogService())
	api.Set(pp.slice("catalog-1", podEP{ip: "127.0.0.2", name: "a"}))
	setGreeter(t, api)
	api.SetDown(false)
	for _, want := range []struct{ path, body string }{{"/", "127.0.0.2"}, {"/h2c", "HTTP/2.0"}} {
		for start := time.Now(); ; {
			status, body := get(t, client, in.url(80)+want.path, "shop.example.com")
			if status == 200 && body == want.body {
				break
			}
			if time.Since(start) > 60*time.Second {
				t.Fatalf("%s after the API server came back: %d %q, want 200 %q", want.path, status, body, want.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestKubernetesProbesWhileSyncing: while the first sync waits for an API
// server that is down, the status server already answers: /healthz/ready
// 503 (not a probe timeout) and the watch metrics say why. Once the API
// server is back the ingress is ready, long before the bound.
func TestKubernetesProbesWhileSyncing(t *testing.T) {
	pp := startPods(t, "127.0.0.2")
	api := kubeapi.Start(t)
	api.SetDown(true)
	api.Set(kubePod("a", "v1"))
	api.Set(pp.catalogService())
	api.Set(pp.slice("catalog-1", podEP{ip: "127.0.0.2", name: "a"}))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(api.Kubeconfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildIngressWith(t, []string{"--endpoints", "kubernetes"}, map[string]string{"gateway.yaml": shopGateway, "routes.yaml": kubeRoutes})
	status := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	probed := make(chan error, 1)
	go func() {
		// The API server comes back once the probes saw the sync wait, or
		// after 10 s without: then the start is ready but the test fails.
		probed <- probeWhileSyncing("http://" + status)
		api.SetDown(false)
	}()
	in := startIngressWith(t, bin, []string{"--kubeconfig", kubeconfig, "--endpoints-sync-timeout", "10m", "--status-addr", status}, 80)
	if err := <-probed; err != nil {
		t.Error(err)
	}
	if !strings.Contains(in.logs(), `msg="endpoint discovery synced"`) {
		t.Errorf("ready without a sync:\n%s", in.logs())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if status, body := get(t, client, in.url(80)+"/", "shop.example.com"); status != 200 || body != "127.0.0.2" {
		t.Errorf("once synced: %d %q, want 200 from 127.0.0.2", status, body)
	}
}

// probeWhileSyncing polls a starting ingress's status server until
// /healthz/ready answers 503 and /stats/prometheus shows a watch down.
func probeWhileSyncing(base string) error {
	client := &http.Client{Timeout: time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	var last string
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		code, _, err := get("/healthz/ready")
		if err != nil {
			last = err.Error()
			continue
		}
		if code != http.StatusServiceUnavailable {
			return fmt.Errorf("/healthz/ready answered %d while the API server is down, want 503", code)
		}
		_, metrics, err := get("/stats/prometheus")
		if err != nil {
			last = err.Error()
			continue
		}
		if strings.Contains(metrics, `gwc_endpoint_watch_up{namespace="shop",resource="endpointslices"} 0`) {
			return nil
		}
		last = "no endpointslices watch down in /stats/prometheus"
	}
	return fmt.Errorf("the status server did not show the sync wait within 10s: %s", last)
}

// TestKubernetesClientOnlyWithFlag: the same configuration built with
// and without --endpoints kubernetes; only the first links client-go.
func TestKubernetesClientOnlyWithFlag(t *testing.T) {
	files := map[string]string{"gateway.yaml": shopGateway, "vs.yaml": shopRoute("catalog")}
	modules := func(bin string) string {
		out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("go version -m: %v\n%s", err, out)
		}
		return string(out)
	}
	if m := modules(buildIngress(t, files)); strings.Contains(m, "k8s.io/") {
		t.Errorf("a binary built without --endpoints kubernetes links Kubernetes modules:\n%s", m)
	}
	if m := modules(buildIngressWith(t, []string{"--endpoints", "kubernetes"}, files)); !strings.Contains(m, "\tk8s.io/client-go\t") {
		t.Errorf("a binary built with --endpoints kubernetes does not link client-go:\n%s", m)
	}
}
