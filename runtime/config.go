package runtime

import (
	"regexp"
	"strconv"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// SupportPackageIsVersion1 is referenced by generated code. A generated file
// that names a version this runtime does not define fails to compile, which
// catches a gwc generator and runtime that disagree.
const SupportPackageIsVersion1 = true

// Config is the whole compiled configuration of one ingress binary. Codegen
// writes it as a Go literal; the runtime never reads configuration from
// anywhere else.
type Config struct {
	// Digest is the sha256 of the input resources, for server_info.
	Digest string
	// Sources lists the input files, relative and slash-separated.
	Sources   []string
	Listeners []Listener
	Clusters  []Cluster
	// Plugins is nil unless the configuration declares GatewayPlugins.
	Plugins Plugins
}

// Listener is one bound port.
type Listener struct {
	// Bind is the address to bind ("" for every address).
	Bind string
	Port int
	// Protocol is the Gateway server protocol, upper case ("HTTP").
	Protocol string
	// Hosts picks an index into VirtualHosts from the Host header.
	Hosts        hosttable.Router
	VirtualHosts []VirtualHost
}

// VirtualHost is the ordered route list for one domain.
type VirtualHost struct {
	// Domain is the lower-case domain: "a.example.com", "*.example.com" or "*".
	Domain string
	Routes []Route
}

// Route is one HTTP rule; the first route whose Matches accept a request
// takes it.
type Route struct {
	// ID names the route's origin, e.g.
	// "vs.yaml:14:7 istioinaction/webapp-vs http[0]"; logs and admin use it.
	ID string
	// Matches are OR'ed; an empty list matches every request.
	Matches []Match
	// Clusters are the weighted destinations; weights need not sum to 100.
	Clusters []WeightedCluster

	// cumWeights[i] is the sum of the weights of Clusters[0..i]; set by
	// Prepare so a pick is one random number and a short scan.
	cumWeights []uint32
}

// Match is one HTTPMatchRequest; all its conditions must hold.
type Match struct {
	// Path matches the request path without the query string.
	Path    StringMatch
	Method  StringMatch
	Headers []HeaderMatch
}

// MatchKind says how a StringMatch compares.
type MatchKind uint8

const (
	// MatchAny is the zero value: no condition.
	MatchAny MatchKind = iota
	MatchExact
	MatchPrefix
	// MatchRegex is an RE2 full match, as Envoy's safe_regex.
	MatchRegex
)

// String returns the kind as admin output and logs name it.
func (k MatchKind) String() string {
	switch k {
	case MatchAny:
		return "any"
	case MatchExact:
		return "exact"
	case MatchPrefix:
		return "prefix"
	case MatchRegex:
		return "regex"
	}
	return "MatchKind(" + strconv.Itoa(int(k)) + ")"
}

// StringMatch is an Istio StringMatch. Regex is compiled by Prepare.
// In a HeaderMatch, MatchAny means the header must be present (Istio's
// empty StringMatch).
type StringMatch struct {
	Kind  MatchKind
	Value string
	Regex *regexp.Regexp
}

// HeaderMatch matches one request header by its lower-case name.
type HeaderMatch struct {
	Name  string
	Match StringMatch

	// key is Name as net/http stores it in a Header map ("" for a
	// pseudo-header); set by Prepare so matching never canonicalises per
	// request.
	key string
	// pseudo says which request field a ":name" header reads.
	pseudo pseudoHeader
}

// WeightedCluster is one destination of a route.
type WeightedCluster struct {
	// Cluster indexes Config.Clusters.
	Cluster int
	Weight  uint32
}

// Cluster is an upstream service at one port, named as Envoy names it:
// "outbound|8080||webapp.istioinaction.svc.cluster.local".
type Cluster struct {
	Name string
	// Resolve says the endpoints' hosts are DNS names, resolved at run time
	// and kept fresh: every address a name yields is an endpoint (ServiceEntry
	// DNS, or a destination with no ServiceEntry, as in a Kubernetes
	// cluster). Otherwise the endpoints are IP addresses (ServiceEntry STATIC).
	Resolve   bool
	Endpoints []Endpoint
	// Policy is the DestinationRule traffic policy; nil takes Istio's
	// defaults.
	Policy *ClusterPolicy
}

// Endpoint is one upstream address.
type Endpoint struct {
	// Address is "host:port"; host is an IP unless the cluster resolves.
	Address string
	Weight  uint32
}
