// Command gwc compiles Istio Gateway, VirtualService and ServiceEntry
// resources into one static ingress binary. See the README.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
