package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/compiler/ir"
)

func runBuild(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("build", "[-o PATH] [--emit-source DIR] [--dump-ir] [--platform LIST] [--image FILE.tar] [--image-layout DIR] [--push REF] [--base REF|FILE.tar] [--manifests DIR] [--dockerfile] "+inputSynopsis+" PATH...")
	out := fs.String("o", "ingress", "write the ingress binary to `PATH`")
	emit := fs.String("emit-source", "", "also write the generated Go module to `DIR` (kept after the build)")
	dumpIR := fs.Bool("dump-ir", false, "print the compiled IR (listeners, virtual hosts, routes, clusters) on stdout and stop")
	input := addInputFlags(fs)
	sf := addShipFlags(fs)
	paths, code, ok := parseFlags(fs, args, stderr)
	if !ok {
		return code
	}
	opts, ok := input.options(stderr, "build")
	if !ok {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "gwc build: no input: name files or directories of resources, e.g. gwc build ./examples/coolstore")
		return 2
	}
	if os.Getenv("GOGC") == "" {
		// As for gwc vet: CUE allocates heavily, and collecting less
		// often saves a fifth of the CPU time of a large build.
		debug.SetGCPercent(300)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	targets, err := sf.targets(ctx, *out)
	if err != nil {
		fmt.Fprintf(stderr, "gwc build: %v\n", err)
		return 1
	}
	cfg, diags := compileWith(paths, opts, stderr)
	printDiags(stderr, diags)
	if cfg == nil {
		fmt.Fprintln(stderr, "gwc build: errors in the input; nothing was written")
		return 1
	}
	if *dumpIR {
		fmt.Fprint(stdout, ir.Dump(cfg))
		return 0
	}

	start := time.Now()
	files, err := codegen.Generate(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gwc build: generating source: %v\n", err)
		return 1
	}
	step(stderr, "generate", time.Since(start), plural(len(files), "file"))

	start = time.Now()
	if err := codegen.BuildTargets(ctx, files, *emit, targets); err != nil {
		fmt.Fprintf(stderr, "gwc build: %v\n", err)
		return 1
	}
	for _, t := range targets {
		step(stderr, "go build", time.Since(start), t.Out)
	}
	if err := sf.ship(ctx, cfg, targets, *out, stderr); err != nil {
		fmt.Fprintf(stderr, "gwc build: %v\n", err)
		return 1
	}
	return 0
}
