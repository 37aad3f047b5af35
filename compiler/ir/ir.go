// Package ir is the intermediate representation the compiler hands to
// codegen: plain sorted slices with source positions, no maps, nothing
// codegen has to resolve. It is the single contract between the two.
package ir

import (
	"time"

	"github.com/gwc-dev/gwc/compiler/diag"
)

// Config is one compiled ingress.
type Config struct {
	// Sources are the input files that contributed resources, sorted.
	Sources []string
	// Digest is the hex sha256 of the input resources in canonical form.
	Digest    string
	Listeners []Listener // sorted by Bind, then Port
	Clusters  []Cluster  // sorted by Name
	// Plugins are the GatewayPlugins in the order their hooks run: by
	// phase (AUTHN, AUTHZ, STATS, unspecified), then priority, highest
	// first, then name.
	Plugins []Plugin
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
	// Subset is the DestinationRule subset the cluster serves, if any.
	Subset string
	// Policy is the DestinationRule traffic policy, if any.
	Policy *Policy
}

// Endpoint is one upstream address.
type Endpoint struct {
	Host   string
	Port   int
	Weight int
	// Labels are the endpoint's "key=value" labels, sorted.
	Labels []string
	// Locality is "region/zone/subzone", if given.
	Locality string
}

// Policy is the DestinationRule traffic policy of one cluster, with the
// subset and port-level settings merged. Zero fields take Istio's
// defaults.
type Policy struct {
	// Origin is the DestinationRule it came from.
	Origin Origin
	// LB is "LEAST_REQUEST", "ROUND_ROBIN", "RANDOM", "RING_HASH" or
	// "MAGLEV".
	LB   string
	Hash HashPolicy
	// TableSize is the minimum ring size or the maglev table size.
	TableSize uint64
	Pool      ConnectionPool
	Outlier   *Outlier
	TLS       *UpstreamTLS
}

// HashPolicy is the key of a consistent-hash balancer; one field is set.
type HashPolicy struct {
	Header     string
	Cookie     string
	CookiePath string
	CookieTTL  time.Duration
	// CookieAttributes are added to a generated cookie: "Name=value" or
	// "Name".
	CookieAttributes []string
	SourceIP         bool
	QueryParam       string
}

// ConnectionPool holds circuit-breaker limits (0: unlimited) and
// connection settings (0: default; IdleTimeout < 0: no idle timeout).
type ConnectionPool struct {
	MaxConnections           uint32
	MaxPendingRequests       uint32
	MaxRequests              uint32
	MaxRetries               uint32
	MaxRequestsPerConnection uint32
	ConnectTimeout           time.Duration
	MaxConnectionDuration    time.Duration
	IdleTimeout              time.Duration
	KeepAlive                *TCPKeepAlive
}

// TCPKeepAlive is tcpKeepalive; zero fields take the OS defaults.
type TCPKeepAlive struct {
	Probes   int
	Time     time.Duration
	Interval time.Duration
}

// Outlier is outlierDetection with Envoy's defaults filled in.
type Outlier struct {
	Consecutive5xx     uint32
	ConsecutiveGateway uint32
	// SplitLocalOrigin counts failures to connect or to get a response
	// apart, against ConsecutiveLocalOrigin, instead of as gateway errors.
	SplitLocalOrigin       bool
	ConsecutiveLocalOrigin uint32
	Interval               time.Duration
	BaseEjectionTime       time.Duration
	MaxEjectionPercent     uint32
	MinHealthPercent       uint32
}

// UpstreamTLS is TLS origination (SIMPLE or MUTUAL); files are read by the
// binary at start.
type UpstreamTLS struct {
	CACertificates     string
	ClientCertificate  string
	PrivateKey         string
	SNI                string
	SubjectAltNames    []string
	InsecureSkipVerify bool
}

// Plugin is one GatewayPlugin: an executable the ingress starts and calls.
type Plugin struct {
	Origin Origin
	// Name is "namespace/name".
	Name string
	// Path is the executable's absolute path in the image.
	Path string
	// SHA256 is the expected hex checksum, lower case; "" when not given.
	SHA256   string
	Phase    string // "AUTHN", "AUTHZ", "STATS" or ""
	Priority int
	// Config is pluginConfig as canonical JSON ("" when absent).
	Config   string
	FailOpen bool
	Timeout  time.Duration
	// Matches are OR'ed; none selects every request.
	Matches []PluginMatch
}

// PluginMatch selects requests; its conditions are AND'ed, an empty one
// is no condition.
type PluginMatch struct {
	Ports []int
	Hosts []string
	// Routes are Route Origin strings (as the runtime's Route.ID).
	Routes []string
}
