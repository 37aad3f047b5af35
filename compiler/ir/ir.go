// Package ir is the intermediate representation the compiler hands to
// codegen: plain sorted slices with source positions, no maps, nothing
// codegen has to resolve. It is the single contract between the two.
package ir

import "github.com/gwc-dev/gwc/compiler/diag"

// Config is one compiled ingress.
type Config struct {
	// Sources are the input files that contributed resources, sorted.
	Sources []string
	// Digest is the hex sha256 of the input resources in canonical form.
	Digest    string
	Listeners []Listener // sorted by Bind, then Port
	Clusters  []Cluster  // sorted by Name
}

// Listener is one port the ingress serves.
type Listener struct {
	Bind     string
	Port     int
	Protocol string
	// Servers are the Gateway servers merged into this listener.
	Servers      []Origin
	VirtualHosts []VirtualHost // sorted by Domain
}

// VirtualHost is the route list for one domain, in the order the binary
// tries it.
type VirtualHost struct {
	// Domain is lower case: "a.example.com", "*.example.com" or "*".
	Domain string
	// Servers are the Gateway servers whose hosts produced the domain.
	Servers []Origin
	Routes  []Route
}

// Origin says where something came from, e.g.
// "vs.yaml:14:7 istioinaction/webapp http[0]".
type Origin struct {
	Pos      diag.Pos
	Resource string // "namespace/name"
	Field    string // "http[0]", "servers[1]"
}

func (o Origin) String() string {
	s := o.Pos.String() + " " + o.Resource
	if o.Field != "" {
		s += " " + o.Field
	}
	return s
}

// Route is one HTTP rule of a VirtualService.
type Route struct {
	Origin Origin
	// Name is the rule's name, if any.
	Name string
	// Matches are OR'ed; none means every request.
	Matches      []Match
	Destinations []Destination
	// Compression lists the response encodings to offer, in the gateway's
	// order of preference ("gzip", "zstd"); none means no compression.
	Compression []string
}

// Match is one HTTPMatchRequest; all its conditions hold together.
type Match struct {
	URI     StringMatch
	Method  StringMatch
	Headers []HeaderMatch // sorted by Name
}

// StringMatch is an Istio StringMatch; a zero Kind means "no condition".
// "present" (an empty StringMatch on a header) only asks that the header
// exists.
type StringMatch struct {
	Kind  string // "", "exact", "prefix", "regex", "present"
	Value string
}

// HeaderMatch matches one header by lower-case name.
type HeaderMatch struct {
	Name  string
	Match StringMatch
}

// Destination is one weighted destination of a route.
type Destination struct {
	Cluster int // index into Config.Clusters
	Weight  int
}

// Cluster is a service at one port: Envoy's
// "outbound|<port>|<subset>|<host>".
type Cluster struct {
	Name string
	Host string
	Port int
	// Resolve says endpoint hosts are DNS names resolved at run time.
	Resolve   bool
	Endpoints []Endpoint
	// Origin is the ServiceEntry that defined the endpoints, if any.
	Origin *Origin
}

// Endpoint is one upstream address.
type Endpoint struct {
	Host   string
	Port   int
	Weight int
}
