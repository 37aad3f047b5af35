package main

import (
	"fmt"
	"io"

	"github.com/gwc-dev/gwc/codegen/manifests"
)

// runManifests prints the Kubernetes objects that run an ingress image:
// gwc manifests --image REF ./config | kubectl apply -f -.
func runManifests(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("manifests", "[--image REF] [--name NAME] [--drain-timeout D] [--min-replicas N] [--max-replicas N] "+inputSynopsis+" [-o FILE] PATH...")
	ref := fs.String("image", "ingress:latest", "the image `REF` the Deployment runs, best by digest (what gwc build --push prints)")
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	wf := addWorkloadFlags(fs)
	input := addInputFlags(fs)
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	opts, ok := input.options(stderr, "manifests")
	if !ok {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc manifests: no input: name files or directories of resources, e.g. gwc manifests ./examples/coolstore")
		return 2
	}
	cfg, diags := compileWith(paths, opts, stderr)
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
