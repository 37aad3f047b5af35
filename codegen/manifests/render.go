package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"text/template"
	"time"

	"github.com/gwc-dev/gwc/templates"
)

// Defaults of the objects, as the Istio ingress gateway's chart sets them
// where it sets them.
const (
	DefaultName           = "gwc-ingress"
	DefaultCredentialsDir = "/etc/gwc/credentials"
	DefaultDrainTimeout   = 30 * time.Second
	DefaultMinReplicas    = 2
	DefaultMaxReplicas    = 5
	// preStopSleep keeps a terminating pod serving while the endpoint
	// controllers and load balancers take it out of rotation; only then
	// does SIGTERM start the drain.
	preStopSleep = 5
	// graceMargin is time for the process to exit after the drain.
	graceMargin = 5
)

// Spec describes the objects to write.
type Spec struct {
	// Name of every object; DefaultName when empty.
	Name string
	// Image is the image reference the Deployment runs.
	Image string
	// Selector are the pod labels the Gateways select (spec.selector);
	// the Service, the PodDisruptionBudget and the Deployment select them.
	Selector map[string]string
	Ports    []Port
	// DrainTimeout is the ingress's --drain-timeout.
	DrainTimeout time.Duration
	// Credentials are the Secret names TLS servers give as credentialName.
	Credentials []string
	// CredentialsDir is the ingress's --credentials-dir.
	CredentialsDir string
	MinReplicas    int
	MaxReplicas    int
	// Annotations are added to every object: gwc's version, the digest of
	// the resources.
	Annotations map[string]string
	// Discovery is what the ingress reads of the Kubernetes API (built
	// with --endpoints kubernetes): the Deployment then runs as a
	// ServiceAccount of its Name, granted exactly that per namespace.
	Discovery []Access
	// Namespace is where the Deployment and its ServiceAccount run, for
	// the RoleBindings' subject; "default" when empty.
	Namespace string
}

// The template sees only pre-quoted strings (view), so it needs no
// functions of its own and parses alongside codegen's templates.
type (
	kv         struct{ K, V string }
	credential struct{ Secret, Volume, MountPath string }
	access     struct {
		Namespace string
		// Service is the one Service of the namespace, which the Role
		// names; "" when there are several.
		Service string
		Pods    bool
	}
	portView struct {
		Name             string
		Port, TargetPort int
	}
	view struct {
		Name, Image                     string
		Selector, Labels, Annotations   []kv
		Args                            []string
		Ports                           []portView
		Credentials                     []credential
		StatusPort, PreStopSleep, Grace int
		User, MinReplicas, MaxReplicas  int
		// Access, when set, makes a ServiceAccount, a Role and a
		// RoleBinding per namespace; Namespace is the account's.
		Access    []access
		Namespace string
	}
)

func sortedKV(m map[string]string) []kv {
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kv{quote(k), quote(m[k])})
	}
	return out
}

// Render returns the objects as one multi-document YAML stream. Every
// string reaches the YAML as a JSON string, so no value from a resource
// can change the document's structure.
func Render(s Spec) ([]byte, error) {
	if s.Image == "" {
		return nil, errors.New("no image reference for the Deployment")
	}
	if len(s.Ports) == 0 {
		return nil, errors.New("no Gateway port to expose")
	}
	if s.Name == "" {
		s.Name = DefaultName
	}
	if s.CredentialsDir == "" {
		s.CredentialsDir = DefaultCredentialsDir
	}
	if s.DrainTimeout == 0 {
		s.DrainTimeout = DefaultDrainTimeout
	}
	if s.MinReplicas == 0 {
		s.MinReplicas = DefaultMinReplicas
	}
	if s.MaxReplicas == 0 {
		s.MaxReplicas = max(DefaultMaxReplicas, s.MinReplicas)
	}
	if s.MinReplicas < 1 || s.MaxReplicas < s.MinReplicas {
		return nil, fmt.Errorf("replicas: want 1 <= min (%d) <= max (%d)", s.MinReplicas, s.MaxReplicas)
	}
	if s.DrainTimeout < 0 {
		return nil, fmt.Errorf("drain timeout %s is negative", s.DrainTimeout)
	}
	selector := maps.Clone(s.Selector)
	if len(selector) == 0 {
		selector = map[string]string{"app.kubernetes.io/name": s.Name}
	}
	podLabels := maps.Clone(selector)
	podLabels["app.kubernetes.io/name"] = s.Name
	podLabels["app.kubernetes.io/managed-by"] = "gwc"
	drainSeconds := int((s.DrainTimeout + time.Second - 1) / time.Second)
	args := append(ListenArgs(s.Ports), "--status-addr", fmt.Sprintf(":%d", StatusPort), "--drain-timeout", s.DrainTimeout.String())
	if s.CredentialsDir != DefaultCredentialsDir {
		args = append(args, "--credentials-dir", s.CredentialsDir)
	}
	v := view{
		Name:        quote(s.Name),
		Image:       quote(s.Image),
		Selector:    sortedKV(selector),
		Labels:      sortedKV(podLabels),
		Annotations: sortedKV(s.Annotations),
		StatusPort:  StatusPort, PreStopSleep: preStopSleep,
		Grace: preStopSleep + drainSeconds + graceMargin,
		User:  65532, MinReplicas: s.MinReplicas, MaxReplicas: s.MaxReplicas,
	}
	for _, a := range args {
		v.Args = append(v.Args, quote(a))
	}
	for _, p := range s.Ports {
		v.Ports = append(v.Ports, portView{Name: quote(p.Name), Port: p.Port, TargetPort: p.TargetPort})
	}
	for _, a := range s.Discovery {
		acc := access{Namespace: quote(a.Namespace), Pods: a.Pods}
		if len(a.Services) == 1 {
			acc.Service = quote(a.Services[0])
		}
		v.Access = append(v.Access, acc)
	}
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	v.Namespace = quote(s.Namespace)
	names := slices.Clone(s.Credentials)
	slices.Sort(names)
	for i, n := range slices.Compact(names) {
		v.Credentials = append(v.Credentials, credential{
			Secret: quote(n), Volume: quote("credential-" + strconv.Itoa(i)), MountPath: quote(s.CredentialsDir + "/" + n)})
	}
	t, err := template.ParseFS(templates.FS, "manifests.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing the manifests template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "manifests", v); err != nil {
		return nil, fmt.Errorf("rendering the manifests: %w", err)
	}
	return buf.Bytes(), nil
}

// quote writes s as a JSON string, which YAML reads as the same string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
