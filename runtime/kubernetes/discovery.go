package kubernetes

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1client "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	gwcrt "github.com/gwc-dev/gwc/runtime"
)

// Client is the part of the Kubernetes API the discovery uses; the typed
// clientset (kubernetes.Interface) and its fake satisfy it. Only these two
// groups' clients are linked, not the whole clientset.
type Client interface {
	DiscoveryV1() discoveryv1client.DiscoveryV1Interface
	CoreV1() corev1client.CoreV1Interface
}

// DefaultSyncTimeout is --endpoints-sync-timeout's default.
const DefaultSyncTimeout = 60 * time.Second

// Discovery is the runtime.Discovery of EndpointSlices.
type Discovery struct {
	// Kubeconfig is --kubeconfig: "" for the in-cluster configuration.
	Kubeconfig string
	// SyncTimeout is --endpoints-sync-timeout.
	SyncTimeout time.Duration
	// NewClient makes the client; nil makes one from Kubeconfig. Tests
	// set it to a fake clientset.
	NewClient func(kubeconfig string) (Client, error)

	log     *slog.Logger
	stop    chan struct{}
	synced  []cache.InformerSynced
	watches []*watchState
	nss     []*namespace
}

var _ gwcrt.Discovery = (*Discovery)(nil)

// New returns the discovery with its defaults; generated code calls it.
func New() *Discovery { return &Discovery{SyncTimeout: DefaultSyncTimeout} }

// RegisterFlags adds --kubeconfig and --endpoints-sync-timeout.
func (d *Discovery) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&d.Kubeconfig, "kubeconfig", d.Kubeconfig,
		"`FILE`: the kubeconfig to reach the Kubernetes API with, to run outside a cluster; empty uses the pod's service account (in-cluster configuration)")
	fs.DurationVar(&d.SyncTimeout, "endpoints-sync-timeout", d.SyncTimeout,
		"how long the start waits for the first list of the EndpointSlices (and Pods) the routes need before serving; "+
			"at the bound the ingress serves with the endpoints known so far (services not yet listed answer 503 UH) and the watches keep trying")
}

// restConfig is the configuration to reach the API server with.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster Kubernetes configuration: %w (outside a cluster, pass --kubeconfig)", err)
		}
		return c, nil
	}
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading --kubeconfig %s: %w", kubeconfig, err)
	}
	return c, nil
}

type typedClient struct {
	d discoveryv1client.DiscoveryV1Interface
	c corev1client.CoreV1Interface
}

func (t typedClient) DiscoveryV1() discoveryv1client.DiscoveryV1Interface { return t.d }
func (t typedClient) CoreV1() corev1client.CoreV1Interface                { return t.c }

func newClient(kubeconfig string) (Client, error) {
	cfg, err := restConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "gwc-ingress"
	d, err := discoveryv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the Kubernetes client: %w", err)
	}
	c, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the Kubernetes client: %w", err)
	}
	return typedClient{d, c}, nil
}

// namespace is what is watched in one namespace.
type namespace struct {
	name string
	log  *slog.Logger
	// targets by Service name.
	targets map[string][]*target
	// services has the Service objects of targets: with a field selector
	// on the name when the namespace has one, else all of the namespace's.
	services cache.SharedIndexInformer
	slices   cache.SharedIndexInformer
	// pods is nil when no subset of the namespace selects by label.
	pods cache.SharedIndexInformer
	// mu serialises recomputations, so a target's updates do not overlap
	// and the last one published is the newest.
	mu sync.Mutex
}

// target is a DiscoveryTarget and what was last told of it, so that a
// problem is logged when it starts, not at every recomputation.
type target struct {
	gwcrt.DiscoveryTarget
	missingPort bool
	// http2 is the port's protocol when last known (known).
	http2, known bool
}

const serviceIndex = "service"

// silenceKlog drops client-go's own log lines (the reflector's retries),
// which would repeat the ones the list and watch calls log below, in
// klog's format. klog's logger is process-wide: set it once, before any
// informer runs.
var silenceKlog = sync.OnceFunc(func() { klog.SetSlogLogger(slog.New(slog.DiscardHandler)) })

// Start makes the client and starts one EndpointSlice informer per
// namespace (and one Pod informer where subsets select by label).
func (d *Discovery) Start(log *slog.Logger, targets []gwcrt.DiscoveryTarget) error {
	d.log = log.With("discovery", "kubernetes")
	silenceKlog()
	mk := d.NewClient
	if mk == nil {
		mk = newClient
	}
	client, err := mk(d.Kubeconfig)
	if err != nil {
		return err
	}
	byNS := map[string]*namespace{}
	for _, t := range targets {
		ns := byNS[t.Service.Namespace]
		if ns == nil {
			ns = &namespace{name: t.Service.Namespace, log: d.log, targets: map[string][]*target{}}
			byNS[t.Service.Namespace] = ns
			d.nss = append(d.nss, ns)
		}
		ns.targets[t.Service.Name] = append(ns.targets[t.Service.Name], &target{DiscoveryTarget: t})
	}
	sort.Slice(d.nss, func(i, j int) bool { return d.nss[i].name < d.nss[j].name })
	d.stop = make(chan struct{})
	for _, ns := range d.nss {
		names := make([]string, 0, len(ns.targets))
		needPods := false
		for name, ts := range ns.targets {
			names = append(names, name)
			for _, t := range ts {
				needPods = needPods || len(t.Service.Labels) > 0
			}
		}
		slices.Sort(names)
		if err := d.watchServices(client, ns, names); err != nil {
			return err
		}
		selector := discoveryv1.LabelServiceName + " in (" + strings.Join(names, ",") + ")"
		ns.slices = cache.NewSharedIndexInformer(watched(d.watch(ns.name, "endpointslices"),
			client.DiscoveryV1().EndpointSlices(ns.name), func(o *metav1.ListOptions) { o.LabelSelector = selector }),
			&discoveryv1.EndpointSlice{}, 0, cache.Indexers{serviceIndex: sliceService})
		if _, err := ns.slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { ns.sliceChanged(obj) },
			UpdateFunc: func(_, obj any) { ns.sliceChanged(obj) },
			DeleteFunc: func(obj any) { ns.sliceChanged(obj) },
		}); err != nil {
			return fmt.Errorf("watching EndpointSlices in %s: %w", ns.name, err)
		}
		d.synced = append(d.synced, ns.slices.HasSynced)
		if needPods {
			ns.pods = cache.NewSharedIndexInformer(watched(d.watch(ns.name, "pods"),
				client.CoreV1().Pods(ns.name), func(*metav1.ListOptions) {}),
				&corev1.Pod{}, 0, cache.Indexers{})
			if _, err := ns.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    func(obj any) { ns.podsChanged() },
				UpdateFunc: func(old, obj any) { ns.podChanged(old, obj) },
				DeleteFunc: func(obj any) { ns.podsChanged() },
			}); err != nil {
				return fmt.Errorf("watching Pods in %s: %w", ns.name, err)
			}
			d.synced = append(d.synced, ns.pods.HasSynced)
		}
	}
	for _, ns := range d.nss {
		ctx := ctxOf(d.stop)
		go ns.services.RunWithContext(ctx)
		go ns.slices.RunWithContext(ctx)
		synced := []cache.InformerSynced{ns.services.HasSynced, ns.slices.HasSynced}
		if ns.pods != nil {
			go ns.pods.RunWithContext(ctx)
			synced = append(synced, ns.pods.HasSynced)
		}
		// A Service that does not exist sends no event when the list
		// says so (after the sync bound, say): recompute all once then.
		go func() {
			if cache.WaitForCacheSync(ctx.Done(), synced...) {
				ns.recompute(nil)
			}
		}()
	}
	return nil
}

// watchServices starts the namespace's Service informer. With one Service
// it lists and watches that one by a field selector on metadata.name, so
// that RBAC may grant exactly it (resourceNames); with several, the
// namespace's Services, of which the handlers keep the targets'.
func (d *Discovery) watchServices(client Client, ns *namespace, names []string) error {
	var field string
	if len(names) == 1 {
		field = "metadata.name=" + names[0]
	}
	ns.services = cache.NewSharedIndexInformer(watched(d.watch(ns.name, "services"),
		client.CoreV1().Services(ns.name), func(o *metav1.ListOptions) { o.FieldSelector = field }),
		&corev1.Service{}, 0, cache.Indexers{})
	if _, err := ns.services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ns.serviceChanged(nil, obj) },
		UpdateFunc: func(old, obj any) { ns.serviceChanged(old, obj) },
		DeleteFunc: func(obj any) { ns.serviceChanged(nil, obj) },
	}); err != nil {
		return fmt.Errorf("watching Services in %s: %w", ns.name, err)
	}
	d.synced = append(d.synced, ns.services.HasSynced)
	return nil
}

// ctxOf returns a context done when stop is closed.
func ctxOf(stop <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stop
		cancel()
	}()
	return ctx
}

// WaitSynced waits for every informer's first list, at most SyncTimeout.
func (d *Discovery) WaitSynced(ctx context.Context) bool {
	if d.SyncTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.SyncTimeout)
		defer cancel()
	}
	ok := cache.WaitForCacheSync(ctx.Done(), d.synced...)
	// A recomputation that ran while the pods or Services were not yet
	// listed may have left endpoints out: do them all once more.
	if ok {
		for _, ns := range d.nss {
			ns.recompute(nil)
		}
	}
	return ok
}

// Stop stops the informers.
func (d *Discovery) Stop() {
	if d.stop != nil {
		close(d.stop)
		d.stop = nil
	}
}

// Watches reports each watch's state, for the runtime's metrics.
func (d *Discovery) Watches(f func(namespace, resource string, up bool, failures uint64)) {
	for _, w := range d.watches {
		f(w.namespace, w.resource, w.up.Load(), w.failures.Load())
	}
}

// sliceService is the index function by the slice's Service name.
func sliceService(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
		return []string{name}, nil
	}
	return nil, nil
}

// serviceChanged recomputes a watched Service's targets when it comes,
// goes, or its ports change; other changes do not move endpoints.
func (ns *namespace) serviceChanged(old, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	if _, watched := ns.targets[s.Name]; !watched {
		return
	}
	if o, ok := old.(*corev1.Service); ok && equality.Semantic.DeepEqual(o.Spec.Ports, s.Spec.Ports) {
		return
	}
	ns.recompute([]string{s.Name})
}

func (ns *namespace) sliceChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if _, watched := ns.targets[name]; watched {
		ns.recompute([]string{name})
	}
}

// podChanged recomputes the subsets when a pod's labels changed; other
// pod changes show in the EndpointSlices.
func (ns *namespace) podChanged(old, obj any) {
	o, ok1 := old.(*corev1.Pod)
	n, ok2 := obj.(*corev1.Pod)
	if ok1 && ok2 && mapsEqual(o.Labels, n.Labels) {
		return
	}
	ns.podsChanged()
}

func (ns *namespace) podsChanged() {
	var names []string
	for name, ts := range ns.targets {
		for _, t := range ts {
			if len(t.Service.Labels) > 0 {
				names = append(names, name)
				break
			}
		}
	}
	ns.recompute(names)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// recompute publishes the endpoint sets of the targets of the services
// named (nil: all of the namespace's).
func (ns *namespace) recompute(names []string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if names == nil {
		for name := range ns.targets {
			names = append(names, name)
		}
	}
	var pods podLabels
	if ns.pods != nil {
		store := ns.pods.GetStore()
		pods = func(pns, name string) (map[string]string, bool) {
			obj, ok, err := store.GetByKey(pns + "/" + name)
			if err != nil || !ok {
				return nil, false
			}
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, false
			}
			return p.Labels, true
		}
	}
	for _, name := range names {
		svc := service{known: ns.services.HasSynced()}
		if obj, ok, err := ns.services.GetStore().GetByKey(ns.name + "/" + name); err == nil && ok {
			svc.obj, _ = obj.(*corev1.Service)
		}
		objs, _ := ns.slices.GetIndexer().ByIndex(serviceIndex, name)
		all := make([]*discoveryv1.EndpointSlice, 0, len(objs))
		for _, o := range objs {
			if s, ok := o.(*discoveryv1.EndpointSlice); ok {
				all = append(all, s)
			}
		}
		for _, t := range ns.targets[name] {
			up, missing := endpointsOf(t.Service, svc, all, pods)
			if up.NoService && ns.slices.HasSynced() {
				ns.log.Debug("no such Service: requests get 503 NC until it exists",
					"namespace", ns.name, "service", name, "cluster", t.Cluster)
			}
			if missing && !t.missingPort {
				ns.log.Warn("the Service has no TCP port the destination names: requests get 503 UH until it has",
					"namespace", ns.name, "service", name, "port", t.Service.Port, "cluster", t.Cluster)
			}
			t.missingPort = missing
			if !missing && !up.NoService {
				if t.known && up.HTTP2 != t.http2 {
					ns.log.Info("the Service port's protocol changed: the next requests use it",
						"namespace", ns.name, "service", name, "port", t.Service.Port, "cluster", t.Cluster, "http2", up.HTTP2)
				}
				t.http2, t.known = up.HTTP2, true
			}
			t.Update(up)
		}
	}
}

// watchState is the health of one list-and-watch, for the metrics and
// the log.
type watchState struct {
	namespace, resource string
	log                 *slog.Logger
	up                  atomic.Bool
	failures            atomic.Uint64
	lists               atomic.Uint64
}

func (d *Discovery) watch(ns, resource string) *watchState {
	w := &watchState{namespace: ns, resource: resource, log: d.log}
	d.watches = append(d.watches, w)
	return w
}

// lister is a typed client of one resource in one namespace.
type lister[L runtime.Object] interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// watched lists and watches c's resources that selector selects, counting
// and logging the failures in w: a line when the watch goes down (naming
// the verb, the resource and the namespace; for a refusal, what RBAC must
// allow) and one when it is back. The reflector retries with back-off and
// the informer's cache, with the endpoints last published, stays as it was
// meanwhile.
func watched[L runtime.Object](w *watchState, c lister[L], selector func(*metav1.ListOptions)) cache.ListerWatcher {
	return &listWatch{
		ListWatch: cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				selector(&o)
				obj, err := c.List(ctx, o)
				w.result("list", err)
				if err == nil && w.lists.Add(1) > 1 {
					w.log.Info("relisted", "resource", w.resource, "namespace", w.namespace)
				}
				return obj, err
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				selector(&o)
				i, err := c.Watch(ctx, o)
				w.result("watch", err)
				return i, err
			},
		},
	}
}

func (w *watchState) result(verb string, err error) {
	if err == nil {
		if !w.up.Swap(true) && w.failures.Load() > 0 {
			w.log.Info("Kubernetes API reachable again", "verb", verb, "resource", w.resource, "namespace", w.namespace)
		}
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	w.failures.Add(1)
	wasUp := w.up.Swap(false)
	if !wasUp && w.failures.Load() > 1 {
		return // logged when it went down
	}
	if apierrors.IsForbidden(err) {
		w.log.Error("Kubernetes API refused: the service account needs RBAC to "+verb+" "+w.resource+" in namespace "+w.namespace+
			" (gwc manifests writes the Role); keeping the last known endpoints", "verb", verb, "resource", w.resource, "namespace", w.namespace, "err", err)
		return
	}
	w.log.Error("Kubernetes API unreachable: keeping the last known endpoints and retrying",
		"verb", verb, "resource", w.resource, "namespace", w.namespace, "err", err)
}

// listWatch is a plain LIST then WATCH from the list's resourceVersion:
// it opts out of client-go's streaming lists (sendInitialEvents), which
// every API server need not support.
type listWatch struct{ cache.ListWatch }

func (*listWatch) IsWatchListSemanticsUnSupported() bool { return true }
