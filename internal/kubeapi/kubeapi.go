// Package kubeapi is a small Kubernetes API server for tests: it serves
// list and watch of Services, EndpointSlices and Pods over HTTP as kube-apiserver
// does, in JSON, so that a real client-go client (the ingress's informers)
// can run against it on loopback. No kube-apiserver can run on the test
// machines, so this one keeps to what the informers use:
//
//   - GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices,
//     /api/v1/namespaces/NS/pods and /api/v1/namespaces/NS/services, with
//     labelSelector and fieldSelector (metadata.name, metadata.namespace):
//     a List with the store's resourceVersion;
//   - the same with watch=true&resourceVersion=RV: a stream of watch
//     events (ADDED, MODIFIED, DELETED) after RV, one JSON object a line,
//     BOOKMARK events when allowWatchBookmarks is set, and 410 Gone when
//     RV is older than the history kept (Expire), as the API server
//     answers once etcd compacted it;
//   - Expire ends every open watch with an ERROR event carrying a 410
//     Gone Status and forgets the history, so clients must relist;
//   - SetDown answers every request 503 until it is set up again.
//
// Streaming lists (sendInitialEvents) are refused with 400, as by an API
// server without the feature: clients fall back to list and watch.
package kubeapi

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Server is the API server.
type Server struct {
	// URL is its base URL, http://127.0.0.1:PORT.
	URL string

	mu      sync.Mutex
	rv      int
	oldest  int // watches from before it get 410 Gone
	objects map[key]object
	history []event
	watches map[*watcher]bool
	lists   map[string]int // resource -> list calls answered
	down    bool
}

type key struct{ resource, namespace, name string }

// object is a stored Service, EndpointSlice or Pod.
type object interface {
	GetNamespace() string
	GetName() string
	GetLabels() map[string]string
	SetResourceVersion(string)
}

type event struct {
	rv       int
	resource string
	typ      string
	obj      object
}

type watcher struct {
	resource, namespace string
	sel                 labels.Selector
	fields              fields.Selector
	ch                  chan event
	expired             chan struct{}
	// cut ends the stream without an event, as a connection that drops.
	cut chan struct{}
}

// Start runs a server on 127.0.0.1 until t ends.
func Start(t *testing.T) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), rv: 1000, objects: map[key]object{}, watches: map[*watcher]bool{}, lists: map[string]int{}}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Kubeconfig returns a kubeconfig that reaches the server.
func (s *Server) Kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q}}]
users: [{name: test, user: {token: test}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
`, s.URL)
}

// Set creates or replaces a Service, an EndpointSlice or a Pod; the
// server keeps a copy.
func (s *Server) Set(obj object) {
	obj = withKind(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	res := resourceOf(obj)
	k := key{res, obj.GetNamespace(), obj.GetName()}
	typ := "ADDED"
	if _, ok := s.objects[k]; ok {
		typ = "MODIFIED"
	}
	s.record(k, typ, obj)
}

// Delete deletes the Service, EndpointSlice or Pod of obj's kind, namespace and name.
func (s *Server) Delete(obj object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{resourceOf(obj), obj.GetNamespace(), obj.GetName()}
	old, ok := s.objects[k]
	if !ok {
		return
	}
	s.record(k, "DELETED", old)
}

// record stores a change and tells the watches; s.mu is held.
func (s *Server) record(k key, typ string, obj object) {
	s.rv++
	obj.SetResourceVersion(strconv.Itoa(s.rv))
	if typ == "DELETED" {
		delete(s.objects, k)
	} else {
		s.objects[k] = obj
	}
	e := event{rv: s.rv, resource: k.resource, typ: typ, obj: obj}
	s.history = append(s.history, e)
	for w := range s.watches {
		if w.wants(e) {
			w.ch <- e
		}
	}
}

// Expire ends every watch with an ERROR event carrying 410 Gone and drops
// the history, as the API server does after a compaction: the clients
// must list again.
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history = nil
	s.oldest = s.rv + 1
	for w := range s.watches {
		close(w.expired)
		delete(s.watches, w)
	}
}

// SetDown makes the server unavailable (every request answered 503, open
// watches cut without an event) or available again, as an API server
// that is restarting or out of reach.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	if !down {
		return
	}
	for w := range s.watches {
		close(w.cut)
		delete(s.watches, w)
	}
}

// Lists returns how many lists of resource ("services", "endpointslices",
// "pods") the server answered.
func (s *Server) Lists(resource string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists[resource]
}

func resourceOf(obj object) string {
	switch obj.(type) {
	case *discoveryv1.EndpointSlice:
		return "endpointslices"
	case *corev1.Pod:
		return "pods"
	case *corev1.Service:
		return "services"
	}
	panic(fmt.Sprintf("kubeapi: no resource for %T", obj))
}

func (w *watcher) wants(e event) bool {
	return e.resource == w.resource && e.obj.GetNamespace() == w.namespace && matches(e.obj, w.sel, w.fields)
}

// matches says whether o is selected by its labels and by the two fields
// every resource has, as the API server selects.
func matches(o object, sel labels.Selector, fs fields.Selector) bool {
	return sel.Matches(labels.Set(o.GetLabels())) &&
		fs.Matches(fields.Set{"metadata.name": o.GetName(), "metadata.namespace": o.GetNamespace()})
}

// ServeHTTP answers list and watch.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ns, res string
	switch parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); {
	case len(parts) == 6 && parts[0] == "apis" && parts[1] == "discovery.k8s.io" && parts[2] == "v1" && parts[3] == "namespaces" && parts[5] == "endpointslices":
		ns, res = parts[4], "endpointslices"
	case len(parts) == 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && (parts[4] == "pods" || parts[4] == "services"):
		ns, res = parts[3], parts[4]
	default:
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		status(w, http.StatusServiceUnavailable, "ServiceUnavailable", "the server is down")
		return
	}
	if r.Method != http.MethodGet {
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only list and watch")
		return
	}
	q := r.URL.Query()
	sel, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		status(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		status(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	for _, r := range fs.Requirements() {
		if r.Field != "metadata.name" && r.Field != "metadata.namespace" {
			status(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("field label not supported: %s", r.Field))
			return
		}
	}
	if q.Get("sendInitialEvents") != "" {
		status(w, http.StatusBadRequest, "BadRequest", "sendInitialEvents is not supported")
		return
	}
	if q.Get("watch") == "true" || q.Get("watch") == "1" {
		s.watch(w, r, &watcher{resource: res, namespace: ns, sel: sel, fields: fs, ch: make(chan event, 1024), expired: make(chan struct{}), cut: make(chan struct{})},
			q.Get("resourceVersion"), q.Get("allowWatchBookmarks") == "true")
		return
	}
	s.list(w, res, ns, sel, fs)
}

func (s *Server) list(w http.ResponseWriter, res, ns string, sel labels.Selector, fs fields.Selector) {
	s.mu.Lock()
	var items []object
	for k, o := range s.objects {
		if k.resource == res && k.namespace == ns && matches(o, sel, fs) {
			items = append(items, o)
		}
	}
	rv := strconv.Itoa(s.rv)
	s.lists[res]++
	s.mu.Unlock()
	kind, apiVersion := kindOf(res)
	kind += "List"
	if items == nil {
		items = []object{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "apiVersion": apiVersion,
		"metadata": map[string]any{"resourceVersion": rv}, "items": items})
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request, wt *watcher, from string, bookmarks bool) {
	rv, err := strconv.Atoi(from)
	if err != nil {
		status(w, http.StatusBadRequest, "BadRequest", "watch needs the resourceVersion of a list")
		return
	}
	s.mu.Lock()
	if rv < s.oldest-1 {
		s.mu.Unlock()
		status(w, http.StatusGone, "Expired", fmt.Sprintf("too old resource version: %d (%d)", rv, s.oldest))
		return
	}
	for _, e := range s.history {
		if e.rv > rv && wt.wants(e) {
			wt.ch <- e
		}
	}
	s.watches[wt] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watches, wt)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	enc := json.NewEncoder(w)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case e := <-wt.ch:
			if err := enc.Encode(map[string]any{"type": e.typ, "object": withKind(e.obj)}); err != nil {
				return
			}
		case <-wt.expired:
			enc.Encode(map[string]any{"type": "ERROR", "object": statusOf(http.StatusGone, "Expired", "the resource version is too old; list again")})
			flusher.Flush()
			return
		case <-tick.C:
			if !bookmarks {
				continue
			}
			s.mu.Lock()
			rv := strconv.Itoa(s.rv)
			s.mu.Unlock()
			kind, apiVersion := kindOf(wt.resource)
			if err := enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{
				"kind": kind, "apiVersion": apiVersion, "metadata": map[string]any{"resourceVersion": rv}}}); err != nil {
				return
			}
		case <-wt.cut:
			return
		case <-r.Context().Done():
			return
		}
		flusher.Flush()
	}
}

// kindOf returns the kind and apiVersion of a resource's objects.
func kindOf(resource string) (kind, apiVersion string) {
	switch resource {
	case "pods":
		return "Pod", "v1"
	case "services":
		return "Service", "v1"
	}
	return "EndpointSlice", "discovery.k8s.io/v1"
}

// withKind sets the object's kind and apiVersion, as the API server writes
// them in watch events.
func withKind(o object) object {
	switch v := o.(type) {
	case *discoveryv1.EndpointSlice:
		c := v.DeepCopy()
		c.TypeMeta = metav1.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"}
		return c
	case *corev1.Pod:
		c := v.DeepCopy()
		c.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
		return c
	case *corev1.Service:
		c := v.DeepCopy()
		c.TypeMeta = metav1.TypeMeta{Kind: "Service", APIVersion: "v1"}
		return c
	}
	return o
}

func statusOf(code int, reason, msg string) metav1.Status {
	return metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Code: int32(code), Reason: metav1.StatusReason(reason), Message: msg}
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, statusOf(code, reason, msg))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
