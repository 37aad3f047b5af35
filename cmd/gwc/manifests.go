package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/gwc-dev/gwc/codegen/manifests"
	"github.com/gwc-dev/gwc/compiler"
)

// runManifests prints the Kubernetes objects that run an ingress image:
// gwc manifests --image REF ./config | kubectl apply -f -.
func runManifests(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("manifests", "[--image REF] [--name NAME] [--drain-timeout D] [--min-replicas N] [--max-replicas N] [--namespace NS] [--endpoints dns|kubernetes] [-o FILE] PATH...")
	ref := fs.String("image", "ingress:latest", "the image `REF` the Deployment runs, best by digest (what gwc build --push prints)")
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	ns := fs.String("namespace", "default", "namespace of resources that set none, as kubectl's --namespace")
	wf := addWorkloadFlags(fs)
	endpoints := addEndpointsFlag(fs)
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	if !endpoints.valid(stderr, "manifests") {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc manifests: no input: name files or directories of resources, e.g. gwc manifests ./examples/coolstore")
		return 2
	}
	cfg, diags := compileWith(paths, compiler.Options{Namespace: *ns, Endpoints: endpoints.source()}, stderr)
	printDiags(stderr, diags)
	if cfg == nil {
		fmt.Fprintln(stderr, "gwc manifests: errors in the input; nothing was written")
		return 1
	}
	ports, err := manifests.Ports(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gwc manifests: %v\n", err)
		return 1
	}
	spec, err := manifestSpec(cfg, ports, *ref, wf)
	if err != nil {
		fmt.Fprintf(stderr, "gwc manifests: %v\n", err)
		return 1
	}
	data, err := manifests.Render(spec)
	if err != nil {
		fmt.Fprintf(stderr, "gwc manifests: %v\n", err)
		return 1
	}
	if *out == "" {
		stdout.Write(data)
		return 0
	}
	if err := writeFileAtomic(*out, data); err != nil {
		fmt.Fprintf(stderr, "gwc manifests: writing %s: %v\n", *out, err)
		return 1
	}
	return 0
}

// endpointsFlag is --endpoints: where destinations without a ServiceEntry
// get their endpoints.
type endpointsFlag struct{ v *string }

func addEndpointsFlag(fs *flag.FlagSet) endpointsFlag {
	return endpointsFlag{fs.String("endpoints", "dns",
		"where destinations without a ServiceEntry get their endpoints: `dns` (the Service's cluster DNS name, one ClusterIP) "+
			"or kubernetes (the pods, from the Service's EndpointSlices watched through the Kubernetes API; the binary then links client-go)")}
}

func (e endpointsFlag) valid(stderr io.Writer, verb string) bool {
	switch *e.v {
	case "dns", compiler.EndpointsKubernetes:
		return true
	}
	fmt.Fprintf(stderr, "gwc %s: --endpoints %q: want dns or kubernetes\n", verb, *e.v)
	return false
}

// source is the compiler's Options.Endpoints.
func (e endpointsFlag) source() string {
	if *e.v == compiler.EndpointsKubernetes {
		return compiler.EndpointsKubernetes
	}
	return ""
}
