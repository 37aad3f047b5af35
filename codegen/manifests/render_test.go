package manifests

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/gwc-dev/gwc/compiler/ir"
)

// objects holds the decoded output of Render.
type objects struct {
	dep *appsv1.Deployment
	svc *corev1.Service
	hpa *autoscalingv2.HorizontalPodAutoscaler
	pdb *policyv1.PodDisruptionBudget
	// sa, roles and bindings are there for endpoint discovery only.
	sa       *corev1.ServiceAccount
	roles    []*rbacv1.Role
	bindings []*rbacv1.RoleBinding
}

// decodeStrict decodes every document with the Kubernetes API types,
// failing on any field the types do not have: a typo in the template
// (readinesProbe) is an error here, as kubectl's server-side validation
// would make it.
func decodeStrict(t *testing.T, data []byte) objects {
	t.Helper()
	var o objects
	docs := bytes.Split(data, []byte("\n---\n"))
	if len(docs) < 4 {
		t.Fatalf("got %d documents, want at least 4:\n%s", len(docs), data)
	}
	for i, doc := range docs {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var into any
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 Deployment":
			o.dep = &appsv1.Deployment{}
			into = o.dep
		case "v1 Service":
			o.svc = &corev1.Service{}
			into = o.svc
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			into = o.hpa
		case "policy/v1 PodDisruptionBudget":
			o.pdb = &policyv1.PodDisruptionBudget{}
			into = o.pdb
		case "v1 ServiceAccount":
			o.sa = &corev1.ServiceAccount{}
			into = o.sa
		case "rbac.authorization.k8s.io/v1 Role":
			r := &rbacv1.Role{}
			o.roles = append(o.roles, r)
			into = r
		case "rbac.authorization.k8s.io/v1 RoleBinding":
			b := &rbacv1.RoleBinding{}
			o.bindings = append(o.bindings, b)
			into = b
		default:
			t.Fatalf("document %d: unexpected %s %s", i, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("document %d (%s) does not decode strictly: %v\n%s", i, meta.Kind, err, doc)
		}
	}
	if o.dep == nil || o.svc == nil || o.hpa == nil || o.pdb == nil {
		t.Fatalf("missing objects:\n%s", data)
	}
	return o
}

func testSpec() Spec {
	return Spec{
		Image:        "registry.example.com/ingress@sha256:" + strings.Repeat("a", 64),
		Selector:     map[string]string{"istio": "ingressgateway"},
		Ports:        []Port{{Name: "http-80", Port: 80, TargetPort: 8080}, {Name: "https-443", Port: 443, TargetPort: 8443}},
		DrainTimeout: 45 * time.Second,
		Credentials:  []string{"shop-cert", "api-cert", "shop-cert"},
		Annotations:  map[string]string{"gwc.dev/resources-digest": "sha256:abc"},
	}
}

func TestRenderDecodesStrictly(t *testing.T) {
	out, err := Render(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	o := decodeStrict(t, out)

	pod := o.dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers: %+v", pod.Containers)
	}
	c := pod.Containers[0]
	wantArgs := []string{"--listen", "80=:8080", "--listen", "443=:8443", "--status-addr", ":15021", "--drain-timeout", "45s"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz/ready" || p.HTTPGet.Port.IntValue() != StatusPort {
		t.Errorf("readiness probe: %+v", p)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != preStopSleep {
		t.Errorf("preStop: %+v", c.Lifecycle)
	}
	// The grace period covers the preStop sleep and the whole drain.
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < preStopSleep+45 {
		t.Errorf("terminationGracePeriodSeconds = %v, want at least %d", g, preStopSleep+45)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container security context: %+v", sc)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod security context: %+v", psc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests: %+v", c.Resources.Requests)
	}
	// One volume per distinct Secret, mounted where --credentials-dir
	// looks for credentialName X: DIR/X/tls.crt.
	var mounts []string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				mounts = append(mounts, v.Secret.SecretName+"@"+m.MountPath)
			}
		}
	}
	if want := []string{"api-cert@/etc/gwc/credentials/api-cert", "shop-cert@/etc/gwc/credentials/shop-cert"}; !slices.Equal(mounts, want) {
		t.Errorf("credential mounts = %q, want %q", mounts, want)
	}

	// Every object selects the Gateway's workload labels, and the pods
	// carry them.
	sel := map[string]string{"istio": "ingressgateway"}
	for name, got := range map[string]map[string]string{
		"deployment": o.dep.Spec.Selector.MatchLabels,
		"service":    o.svc.Spec.Selector,
		"pdb":        o.pdb.Spec.Selector.MatchLabels,
	} {
		if fmt.Sprint(got) != fmt.Sprint(sel) {
			t.Errorf("%s selects %v, want %v", name, got, sel)
		}
	}
	if o.dep.Spec.Template.Labels["istio"] != "ingressgateway" {
		t.Errorf("pod labels %v lack the selector", o.dep.Spec.Template.Labels)
	}

	if o.svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("service type %q", o.svc.Spec.Type)
	}
	var ports []string
	for _, p := range o.svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d->%d", p.Name, p.Port, p.TargetPort.IntValue()))
	}
	if want := []string{"status-port:15021->15021", "http-80:80->8080", "https-443:443->8443"}; !slices.Equal(ports, want) {
		t.Errorf("service ports = %q, want %q", ports, want)
	}
	if o.hpa.Spec.ScaleTargetRef.Name != o.dep.Name || o.hpa.Spec.MinReplicas == nil || *o.hpa.Spec.MinReplicas != DefaultMinReplicas || o.hpa.Spec.MaxReplicas != DefaultMaxReplicas {
		t.Errorf("hpa: %+v", o.hpa.Spec)
	}
	if o.dep.Spec.Replicas != nil {
		t.Errorf("deployment sets replicas %d, which would fight the autoscaler", *o.dep.Spec.Replicas)
	}
	if o.pdb.Spec.MinAvailable == nil || o.pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("pdb: %+v", o.pdb.Spec)
	}
	if o.svc.Annotations["gwc.dev/resources-digest"] != "sha256:abc" {
		t.Errorf("annotations: %v", o.svc.Annotations)
	}
}

// Values from resources are quoted, so a hostile label cannot add fields.
func TestRenderQuotesValues(t *testing.T) {
	s := testSpec()
	s.Selector = map[string]string{"app": "x\"\n  hostNetwork: true\n#"}
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeStrict(t, out)
	if o.dep.Spec.Template.Spec.HostNetwork {
		t.Fatal("a label value injected hostNetwork")
	}
	if got := o.svc.Spec.Selector["app"]; got != s.Selector["app"] {
		t.Fatalf("selector value = %q", got)
	}
}

func TestRenderWithoutSelectorOrCredentials(t *testing.T) {
	s := testSpec()
	s.Selector, s.Credentials, s.Name = nil, nil, "edge"
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeStrict(t, out)
	if got := o.svc.Spec.Selector["app.kubernetes.io/name"]; got != "edge" {
		t.Errorf("selector without Gateway labels = %v", o.svc.Spec.Selector)
	}
	if len(o.dep.Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("volumes without credentials: %+v", o.dep.Spec.Template.Spec.Volumes)
	}
}

func TestRenderRejects(t *testing.T) {
	for name, mod := range map[string]func(*Spec){
		"no image":    func(s *Spec) { s.Image = "" },
		"no ports":    func(s *Spec) { s.Ports = nil },
		"min > max":   func(s *Spec) { s.MinReplicas, s.MaxReplicas = 4, 3 },
		"negative dt": func(s *Spec) { s.DrainTimeout = -time.Second },
	} {
		s := testSpec()
		mod(&s)
		if _, err := Render(s); err == nil {
			t.Errorf("%s: Render succeeded", name)
		}
	}
}

func TestPorts(t *testing.T) {
	cfg := &ir.Config{Listeners: []ir.Listener{
		{Port: 443, Protocol: "HTTPS"}, {Port: 80, Protocol: "HTTP"}, {Bind: "10.0.0.1", Port: 80, Protocol: "HTTP"},
		{Port: 8080, Protocol: "HTTP"}, {Port: 9000, Protocol: "TCP"},
	}}
	ports, err := Ports(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ports {
		got = append(got, fmt.Sprintf("%s:%d->%d", p.Name, p.Port, p.TargetPort))
	}
	// 80 would move to 8080, a Gateway port of its own: it takes 8081.
	want := []string{"http-80:80->8081", "https-443:443->8443", "http-8080:8080->8080", "tcp-9000:9000->9000"}
	if !slices.Equal(got, want) {
		t.Errorf("ports = %q, want %q", got, want)
	}
	if args := ListenArgs(ports[:1]); !slices.Equal(args, []string{"--listen", "80=:8081"}) {
		t.Errorf("listen args %q", args)
	}
	if _, err := Ports(&ir.Config{Listeners: []ir.Listener{{Port: 15021, Protocol: "HTTP"}}}); err == nil {
		t.Error("a Gateway port on the status port was accepted")
	}
}

// TestRenderDiscoveryRBAC: a binary that watches EndpointSlices runs as
// its own ServiceAccount, granted exactly get, list and watch on services
// (by name where a namespace has one) and endpointslices in each
// namespace the routes use, and on pods only where a subset selects them
// by label.
func TestRenderDiscoveryRBAC(t *testing.T) {
	plain := decodeStrict(t, mustRender(t, testSpec()))
	if plain.sa != nil || len(plain.roles) > 0 || len(plain.bindings) > 0 {
		t.Fatalf("RBAC objects without discovery")
	}
	if m := plain.dep.Spec.Template.Spec.AutomountServiceAccountToken; m == nil || *m {
		t.Errorf("without discovery the token is not mounted: %v", m)
	}
	s := testSpec()
	s.Namespace = "istio-system"
	s.Discovery = DiscoveryAccess(&ir.Config{Clusters: []ir.Cluster{
		{Name: "a", Service: &ir.Service{Namespace: "shop", Name: "catalog", Port: 80}},
		{Name: "b", Service: &ir.Service{Namespace: "shop", Name: "catalog", Port: 80, Labels: []string{"version=v1"}}},
		{Name: "e", Service: &ir.Service{Namespace: "shop", Name: "orders", Port: 80}},
		{Name: "c", Service: &ir.Service{Namespace: "billing", Name: "pay", Port: 80}},
		{Name: "d", Host: "dns.example.com", Resolve: true},
	}})
	o := decodeStrict(t, mustRender(t, s))
	pod := o.dep.Spec.Template.Spec
	if o.sa == nil || pod.ServiceAccountName != o.sa.Name || pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Errorf("the Deployment does not run as the ServiceAccount: account %v, pod %q automount %v", o.sa, pod.ServiceAccountName, pod.AutomountServiceAccountToken)
	}
	want := map[string][]string{
		"billing": {"/services[pay] get,list,watch", "discovery.k8s.io/endpointslices get,list,watch"},
		"shop":    {"/services get,list,watch", "discovery.k8s.io/endpointslices get,list,watch", "/pods get,list,watch"},
	}
	if len(o.roles) != len(want) || len(o.bindings) != len(want) {
		t.Fatalf("%d roles and %d bindings, want %d each", len(o.roles), len(o.bindings), len(want))
	}
	for i, r := range o.roles {
		var rules []string
		for _, rule := range r.Rules {
			names := ""
			if len(rule.ResourceNames) > 0 {
				names = "[" + strings.Join(rule.ResourceNames, ",") + "]"
			}
			rules = append(rules, fmt.Sprintf("%s/%s%s %s", strings.Join(rule.APIGroups, ","), strings.Join(rule.Resources, ","), names, strings.Join(rule.Verbs, ",")))
		}
		if !slices.Equal(rules, want[r.Namespace]) {
			t.Errorf("role in %q: %q, want %q", r.Namespace, rules, want[r.Namespace])
		}
		b := o.bindings[i]
		if b.Namespace != r.Namespace || b.RoleRef.Kind != "Role" || b.RoleRef.Name != r.Name ||
			len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != o.sa.Name || b.Subjects[0].Namespace != "istio-system" {
			t.Errorf("binding in %q: %+v", b.Namespace, b)
		}
	}
}

func mustRender(t *testing.T, s Spec) []byte {
	t.Helper()
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
