package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/codegen/manifests"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
	"github.com/gwc-dev/gwc/templates"
)

// What gwc build and gwc manifests share to put an ingress into images
// and Kubernetes objects.

// workloadFlags are the flags of the Kubernetes objects.
type workloadFlags struct {
	name         *string
	drainTimeout *time.Duration
	minReplicas  *int
	maxReplicas  *int
}

func addWorkloadFlags(fs *flag.FlagSet) workloadFlags {
	return workloadFlags{
		name:         fs.String("name", manifests.DefaultName, "`NAME` of the Deployment, Service, autoscaler and disruption budget"),
		drainTimeout: fs.Duration("drain-timeout", manifests.DefaultDrainTimeout, "the ingress's --drain-timeout in the Deployment; the termination grace period covers it"),
		minReplicas:  fs.Int("min-replicas", manifests.DefaultMinReplicas, "the autoscaler's minimum number of pods"),
		maxReplicas:  fs.Int("max-replicas", manifests.DefaultMaxReplicas, "the autoscaler's maximum number of pods"),
	}
}

// gatewayFacts are what the objects need from the Gateways the IR uses
// that the IR does not carry: the workload labels they select and the
// Secrets their TLS servers name.
type gatewayFacts struct {
	selector    map[string]string
	credentials []string
}

// readGatewayFacts reads them from the resources under paths, looking only
// at the Gateways whose servers made cfg's listeners. Two Gateways that
// select different values of one label select different workloads, which
// one binary cannot be: that is an error.
func readGatewayFacts(paths []string, namespace string, cfg *ir.Config) (gatewayFacts, error) {
	used := map[string]bool{}
	for _, l := range cfg.Listeners {
		for _, s := range l.Servers {
			used[s.Resource] = true
		}
	}
	res := load.Load(paths, load.Options{Namespace: namespace})
	facts := gatewayFacts{selector: map[string]string{}}
	from := map[string]string{}
	creds := map[string]bool{}
	for _, r := range res.Resources {
		if r.Kind != "Gateway" || !used[r.Namespace+"/"+r.Name] {
			continue
		}
		var sel map[string]string
		if v := r.Value.LookupPath(cue.ParsePath("spec.selector")); v.Exists() {
			if err := v.Decode(&sel); err != nil {
				return facts, fmt.Errorf("%s: reading spec.selector: %w", r.ID(), err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(sel)) {
			if old, ok := facts.selector[k]; ok && old != sel[k] {
				return facts, fmt.Errorf("%s selects %s=%s but %s selects %s=%s: they are different workloads; build them into separate ingresses",
					r.ID(), k, sel[k], from[k], k, old)
			}
			facts.selector[k], from[k] = sel[k], r.ID()
		}
		servers, _ := r.Value.LookupPath(cue.ParsePath("spec.servers")).List()
		for servers.Next() {
			tls := servers.Value().LookupPath(cue.ParsePath("tls"))
			if s, err := tls.LookupPath(cue.ParsePath("credentialName")).String(); err == nil && s != "" {
				creds[s] = true
			}
			names, _ := tls.LookupPath(cue.ParsePath("credentialNames")).List()
			for names.Next() {
				if s, err := names.Value().String(); err == nil && s != "" {
					creds[s] = true
				}
			}
		}
	}
	facts.credentials = slices.Sorted(maps.Keys(creds))
	return facts, nil
}

// manifestSpec assembles the objects' description.
func manifestSpec(cfg *ir.Config, facts gatewayFacts, ports []manifests.Port, imageRef string, wf workloadFlags) manifests.Spec {
	return manifests.Spec{
		Name:         *wf.name,
		Image:        imageRef,
		Selector:     facts.selector,
		Ports:        ports,
		DrainTimeout: *wf.drainTimeout,
		Credentials:  facts.credentials,
		MinReplicas:  *wf.minReplicas,
		MaxReplicas:  *wf.maxReplicas,
		Annotations: map[string]string{
			"gwc.dev/version":          gwcVersion(),
			"gwc.dev/resources-digest": "sha256:" + cfg.Digest,
		},
	}
}

// writeFileAtomic writes data to name through a temporary file and a
// rename, so a failure leaves name as it was.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// CreateTemp's 0600 would keep the file from a docker build or a
	// kubectl run by another user.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// dockerfileData describes the Dockerfile gwc build --dockerfile writes.
type dockerfileData struct {
	// Binary is the binary's file name beside the Dockerfile; with several
	// platforms, a pattern with ${TARGETOS} and ${TARGETARCH}.
	Binary        string
	Ports         []int
	Cmd           []string
	Labels        map[string]string
	User          int
	MultiPlatform bool
}

// renderDockerfile fills templates/Dockerfile.tmpl. Labels and arguments
// reach it JSON-quoted, which Dockerfile strings and exec forms read as
// written.
func renderDockerfile(d dockerfileData) ([]byte, error) {
	t, err := template.ParseFS(templates.FS, "Dockerfile.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile template: %w", err)
	}
	v := struct {
		Binary, Cmd   string
		Ports         []int
		Labels        []string
		User          int
		MultiPlatform bool
	}{Binary: d.Binary, Cmd: jsonList(d.Cmd), Ports: d.Ports, User: d.User, MultiPlatform: d.MultiPlatform}
	for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
		v.Labels = append(v.Labels, jsonString(k)+"="+jsonString(d.Labels[k]))
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "Dockerfile", v); err != nil {
		return nil, fmt.Errorf("rendering the Dockerfile: %w", err)
	}
	return []byte(b.String()), nil
}

// platformOut names the binary of one platform when several are built:
// ingress-linux-arm64 next to -o ingress.
func platformOut(out string, p codegen.Platform) string {
	s := out + "-" + p.OS + "-" + p.Arch
	if p.Variant != "" {
		s += "-" + p.Variant
	}
	return s
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func jsonList(s []string) string {
	if s == nil {
		s = []string{}
	}
	b, _ := json.Marshal(s)
	return string(b)
}
