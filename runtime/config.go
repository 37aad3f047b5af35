package runtime

import (
	"strconv"
	"time"
	"unsafe"

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
	// Authn is nil unless the configuration has a RequestAuthentication.
	Authn Authenticator
	// Authz is nil unless the configuration has AuthorizationPolicies.
	Authz *Authz
	// ExtAuthz is nil unless a CUSTOM AuthorizationPolicy exists.
	ExtAuthz ExtAuthz
	// Tracing is nil unless a Telemetry resource enables tracing.
	Tracing Tracer
	// Topology is what the gateway trusts of the hops in front of it.
	Topology Topology

	// Generated marks a literal gwc generated, after gwc build ran all of
	// Prepare on the same tables: Prepare then leaves each virtual host to
	// be prepared on its first request (lazyprep.go). Not part of the
	// configuration's content, so not in its JSON.
	Generated bool `json:"-"`

	// credentialsDir is --credentials-dir, set by Run before the engine is
	// built: where upstream TLS credentialNames are read.
	credentialsDir string
	// resolver is how DNS endpoints resolve (--dns-server), set by Run;
	// nil is the system's.
	resolver *resolver

	// Discovery learns the endpoints of the clusters that name a Service;
	// nil unless the binary was built with --endpoints kubernetes
	// (upstream_discovery.go).
	Discovery Discovery
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
	// TLS lists the servers of a listener that terminates TLS (HTTPS), in
	// the order of the Gateway servers; a handshake picks one by SNI. Empty
	// on a plaintext listener.
	TLS []ServerTLS
	// L4 are the routes of a TCP listener (the first takes every
	// connection) or of a TLS passthrough listener (chosen by SNI).
	L4 []L4Route
	// RateLimited says a virtual host has a RateLimit: only then is the
	// host looked up before the policies' step ends.
	RateLimited bool

	// lazy says which virtual hosts are prepared, when Prepare left them
	// to their first request (a Generated config); nil otherwise.
	lazy *lazyHosts
}

// L4Route sends whole connections to weighted clusters: a VirtualService
// tcp or tls rule.
type L4Route struct {
	// ID names the rule's origin, as Route.ID.
	ID string
	// SNI lists the server names a TLS passthrough route takes, lower case:
	// exact names or "*.suffix"; "*" takes any name. Empty on TCP.
	SNI      []string
	Clusters []WeightedCluster

	// route holds Clusters with their cumulative weights, set by Prepare.
	route Route
}

// VirtualHost is the ordered route list for one domain.
type VirtualHost struct {
	// Domain is the lower-case domain: "a.example.com", "*.example.com" or "*".
	Domain string
	Routes []Route

	// index narrows the routes to try by path; built by Prepare.
	index *routeIndex
	// RequireTLS answers every plaintext request with a 301 to the https
	// URL (a server's httpsRedirect: Envoy's require_tls ALL).
	RequireTLS bool
	// TLSServers are the indexes into Listener.TLS whose connections may
	// use this virtual host: each HTTPS server has its own route table in
	// Istio, so a request for a host of another server gets 404.
	TLSServers []int
	// RateLimit is the host's local rate limit; nil for none.
	RateLimit *RateLimit
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
	// Compression lists the response encodings the route offers ("gzip",
	// "zstd", each optionally with ";level=N"), in the gateway's order of
	// preference; none for no compression (gwc.io/compression).
	Compression []string
	// MaxRequestBytes caps the request body sent upstream
	// (gwc.io/max-request-body); 0 for no limit.
	MaxRequestBytes int64

	// encodings is Compression checked by Prepare.
	encodings []coding

	// cumWeights[i] is the sum of the weights of Clusters[0..i]; set by
	// Prepare so a pick is one random number and a short scan.
	cumWeights []uint32

	// Redirect or DirectResponse, when set, answer at the gateway instead
	// of forwarding.
	Redirect       *Redirect
	DirectResponse *DirectResponse
	// Rewrite changes the path and authority before forwarding.
	Rewrite *Rewrite
	// RequestHeaders and ResponseHeaders are the route-level header
	// operations, applied after the destination's, or before them with
	// DestinationHeadersLast (a rule with one destination, whose
	// operations istiod appends to the route's).
	RequestHeaders, ResponseHeaders HeaderOps
	DestinationHeadersLast          bool
	// Timeout bounds the whole upstream exchange, retries included; 0 is
	// none, Istio's default. On expiry the client gets 504.
	Timeout time.Duration
	// Retry is the retry policy; nil means Istio's default policy.
	Retry *RetryPolicy
	// Fault delays or aborts a share of requests before anything else.
	Fault *Fault
	// Mirrors get a copy of each forwarded request, fire and forget.
	Mirrors []Mirror
	// CORS answers preflights and marks responses for allowed origins.
	CORS *CORS
}

// Match is one HTTPMatchRequest; all its conditions must hold.
type Match struct {
	// Path matches the request path without the query string.
	Path    StringMatch
	Method  StringMatch
	Headers []HeaderMatch

	// Name is the match's name, for logs and explain.
	Name string
	// IgnoreCase compares an exact or prefix Path ignoring ASCII case.
	IgnoreCase bool
	// WithoutHeaders must all fail; a missing header counts as empty,
	// except for a presence match, which then holds.
	WithoutHeaders []HeaderMatch
	// Query matches query parameters by name, raw (not decoded) as Envoy
	// compares them; the first occurrence counts.
	Query []QueryMatch
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

// StringMatch is an Istio StringMatch. In a HeaderMatch, MatchAny means
// the header must be present (Istio's empty StringMatch).
type StringMatch struct {
	Kind  MatchKind
	Value string

	// lazy is the *lazyRegex of a regex Value, which Prepare parses and
	// registers; the first match links it here, atomically, and compiles
	// it (lazyregex.go). It took the place of an exported *regexp.Regexp
	// that Prepare filled: one pointer either way, as the literal of
	// 10,000 hosts holds ~100,000 StringMatches.
	lazy unsafe.Pointer
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
	// RequestHeaders and ResponseHeaders are the destination-level header
	// operations.
	RequestHeaders, ResponseHeaders HeaderOps
	// Authority, when set, replaces the Host sent upstream; it wins over
	// the route's rewrite.
	Authority string
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
	// HTTP2 says the upstream speaks cleartext HTTP/2 with prior
	// knowledge: a service port with protocol HTTP2, GRPC or GRPC-WEB, as
	// gRPC needs.
	HTTP2 bool
	// Service, when set, says Config.Discovery provides the endpoints at
	// run time; Endpoints is then empty.
	Service *ServiceRef

	// discovered is the feed discovery updates, set by startDiscovery.
	discovered *discoveredEndpoints
}

// Endpoint is one upstream address.
type Endpoint struct {
	// Address is "host:port"; host is an IP unless the cluster resolves.
	Address string
	Weight  uint32
}
