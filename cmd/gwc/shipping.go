package main

import (
	"flag"
	"os"
	"path/filepath"
	"time"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/codegen/manifests"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// What gwc build and gwc manifests share to put an ingress into images
// and Kubernetes objects.

// workloadFlags are the flags of the Kubernetes objects.
type workloadFlags struct {
	name         *string
	drainTimeout *time.Duration
	minReplicas  *int
	maxReplicas  *int
	// namespace is --workload-namespace.
	namespace *string
}

func addWorkloadFlags(fs *flag.FlagSet) workloadFlags {
	return workloadFlags{
		name:         fs.String("name", manifests.DefaultName, "`NAME` of the Deployment, Service, autoscaler and disruption budget"),
		drainTimeout: fs.Duration("drain-timeout", manifests.DefaultDrainTimeout, "the ingress's --drain-timeout in the Deployment; the termination grace period covers it"),
		minReplicas:  fs.Int("min-replicas", manifests.DefaultMinReplicas, "the autoscaler's minimum number of pods"),
		maxReplicas:  fs.Int("max-replicas", manifests.DefaultMaxReplicas, "the autoscaler's maximum number of pods"),
		namespace: fs.String("workload-namespace", "default",
			"`NS` the Deployment runs in (kubectl apply -n NS): the RoleBindings of a binary built with --endpoints kubernetes name its ServiceAccount there"),
	}
}

// manifestSpec assembles the objects' description.
func manifestSpec(cfg *ir.Config, ports []manifests.Port, imageRef string, wf workloadFlags) (manifests.Spec, error) {
	sel, err := manifests.Selector(cfg)
	if err != nil {
		return manifests.Spec{}, err
	}
	return manifests.Spec{
		Name:         *wf.name,
		Image:        imageRef,
		Selector:     sel,
		Ports:        ports,
		DrainTimeout: *wf.drainTimeout,
		Credentials:  cfg.Workload.Credentials,
		MinReplicas:  *wf.minReplicas,
		MaxReplicas:  *wf.maxReplicas,
		Discovery:    manifests.DiscoveryAccess(cfg),
		Namespace:    *wf.namespace,
		Annotations: map[string]string{
			"gwc.dev/version":          gwcVersion(),
			"gwc.dev/resources-digest": "sha256:" + cfg.Digest,
		},
	}, nil
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

// platformOut names the binary of one platform when several are built:
// ingress-linux-arm64 next to -o ingress.
func platformOut(out string, p codegen.Platform) string {
	s := out + "-" + p.OS + "-" + p.Arch
	if p.Variant != "" {
		s += "-" + p.Variant
	}
	return s
}
