package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `gwc compiles Istio ingress configuration into a static ingress binary.

Usage:
  gwc build [-o PATH] [--emit-source DIR] [--namespace NS] [--dump-ir] PATH...
            [--platform LIST] [--image FILE.tar] [--image-layout DIR] [--push REF] [--manifests DIR] [--dockerfile]
  gwc vet [--format text|json|sarif] [--strict] [--resource-only] [--context PATH] [--credentials-dir DIR] [--namespace NS] PATH...
  gwc manifests [--image REF] [--name NAME] [-o FILE] PATH...
  gwc routes [--format text|json] [--namespace NS] PATH...
  gwc explain [-H 'name: value']... [--namespace NS] PATH... 'METHOD URL'
  gwc test [--format text|json|junit] [--namespace NS] PATH... --tests FILE...
  gwc diff [--format text|json] [--namespace NS] OLD... -- NEW... | --rev REV PATH...
  gwc schema --format jsonschema [KIND] | --format cue
  gwc version

PATH is a file or directory of Kubernetes YAML, JSON or CUE.
Run 'gwc COMMAND --help' for the flags of a command.
`

// run is the whole CLI, callable in-process by tests. It returns the exit
// status: 0 success, 1 errors in the input or the build, 2 usage errors.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:], stdout, stderr)
	case "vet":
		return runVet(args[1:], stdout, stderr)
	case "manifests":
		return runManifests(args[1:], stdout, stderr)
	case "routes":
		return runRoutes(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "test":
		return runTest(args[1:], stdout, stderr)
	case "diff":
		return runDiff(args[1:], stdout, stderr)
	case "schema":
		return runSchema(args[1:], stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gwc: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// parseFlags parses flags that may come before, between or after the
// positional arguments, as users type them: gwc build ./examples -o bin.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int, bool) {
	fs.SetOutput(stderr)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, 0, true
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("gwc "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: gwc %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
