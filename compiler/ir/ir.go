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
	// Workload is what running the binary in Kubernetes needs.
	Workload Workload
	// Topology is the Gateways' gatewayTopology; the zero value when none
	// sets one.
	Topology Topology
	// Authz are the AuthorizationPolicies, sorted by namespace and name.
	Authz []AuthzPolicy
	// Endpoints is where destinations without a ServiceEntry get their
	// endpoints: "" for DNS, "kubernetes" for the Kubernetes API's
	// EndpointSlices (gwc build --endpoints kubernetes).
	Endpoints string
	// Tracing is nil unless a Telemetry resource enables tracing.
	Tracing *Tracing
	// JWTRules are the jwtRules of the RequestAuthentications applied to
	// the gateway, sorted by issuer as istiod orders them; none without.
	JWTRules []JWTRule
}

// Topology is Istio's ProxyConfig.gatewayTopology as a Gateway's
// proxy.istio.io/config annotation sets it for the gateway workload.
type Topology struct {
	NumTrustedProxies int
	// ForwardClientCertDetails is Istio's enum name; "" for the default.
	ForwardClientCertDetails string
	ProxyProtocol            bool
	// Origin is the annotation it was read from; nil when none.
	Origin *Origin
}

// Workload is what the objects that run the binary need from the
// resources: the pods the Gateways select and the credentials the binary
// reads at run time.
type Workload struct {
	// Selector are the spec.selector labels of the Gateways whose servers
	// made the listeners, sorted by key, then value, each pair once, from
	// the first Gateway (by namespace and name) that sets it. A key with
	// two values means two Gateways select different workloads.
	Selector []Label
	// Credentials are the credential names the binary reads under its
	// --credentials-dir: the servers' credentialName, credentialNames and
	// caCertCredentialName, and the clusters' DestinationRule
	// credentialName; sorted, each once.
	Credentials []string
}

// Label is one pod label a Gateway selects.
type Label struct {
	Key, Value string
	// Origin is the label in the Gateway's spec.selector.
	Origin Origin
}

// Listener is one port the ingress serves.
type Listener struct {
	Bind     string
	Port     int
	Protocol string
	// Servers are the Gateway servers merged into this listener.
	Servers      []Origin
	VirtualHosts []VirtualHost // sorted by Domain
	// TLS lists the servers of an HTTPS listener, in the order of Servers;
	// a handshake picks one by SNI.
	TLS []ServerTLS
	// L4 are the connection routes of a TCP listener (one) or of a TLS
	// passthrough listener (chosen by SNI), in the order istiod tries them.
	L4 []L4Route
}

// L4Route is a VirtualService tcp or tls rule's match: whole connections
// to weighted destinations.
type L4Route struct {
	Origin Origin
	// SNI are the sniHosts of a TLS route, lower case; empty for TCP.
	SNI          []string
	Destinations []Destination
}

// ServerTLS is the TLS termination of one Gateway server. Certificates are
// named, never read: the binary reads them at run time.
type ServerTLS struct {
	Origin Origin
	// SNI are the server's hosts without namespace, lower case; "*" takes
	// any name.
	SNI  []string
	Mode string // "SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"
	// CredentialName, or the three file paths.
	CredentialName    string
	ServerCertificate string
	PrivateKey        string
	CACertificates    string
	// CredentialNames and Certificates add certificates (credentialNames,
	// tlsCertificates); CACredentialName is caCertCredentialName.
	CredentialNames  []string
	Certificates     []CertificateFiles
	CACredentialName string
	// TCP is the tcp rule a TLS server (protocol TLS, terminating)
	// forwards the decrypted stream to; nil on HTTPS.
	TCP *L4Route
	// CRL is caCrl; InsecureSkipVerify lets unverified client
	// certificates through.
	CRL                   string
	InsecureSkipVerify    bool
	SubjectAltNames       []string
	VerifyCertificateSpki []string
	VerifyCertificateHash []string
	// MinVersion and MaxVersion are crypto/tls version numbers, 0 for the
	// default; CipherSuites are crypto/tls suite IDs, in the order given.
	MinVersion   uint16
	MaxVersion   uint16
	CipherSuites []uint16
}

// VirtualHost is the route list for one domain, in the order the binary
// tries it.
type VirtualHost struct {
	// Domain is lower case: "a.example.com", "*.example.com" or "*".
	Domain string
	// Servers are the Gateway servers whose hosts produced the domain.
	Servers []Origin
	Routes  []Route
	// HTTPSRedirect: a server that produced the domain has httpsRedirect,
	// so plaintext requests get a 301 to https.
	HTTPSRedirect bool
	// TLSServers index Listener.TLS: the servers whose connections may use
	// this domain (each HTTPS server has its own route table in Istio).
	TLSServers []int
	// RateLimit is the domain's local rate limit (gwc.io/local-rate-limit);
	// nil for none.
	RateLimit *RateLimit
}

// RateLimit is a token bucket: Requests tokens per Interval, at most
// Burst; full at start.
type RateLimit struct {
	Requests int
	Interval time.Duration
	Burst    int
	// Origin is the annotation it was read from.
	Origin Origin
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

	Redirect       *Redirect
	DirectResponse *DirectResponse
	Rewrite        *Rewrite
	// RequestHeaders and ResponseHeaders are the route-level operations.
	RequestHeaders, ResponseHeaders HeaderOps
	// DestinationHeadersLast is set for a rule with one destination:
	// istiod appends its header operations to the route's (route.go,
	// processDestination), so they apply after the route's, its removals
	// (moved into the route's) before either's set and add. A weighted
	// destination's apply first, as Envoy applies a weighted cluster's.
	DestinationHeadersLast bool
	// TimeoutMS is the route timeout, 0 for none (Istio's default).
	TimeoutMS int64
	Retry     RetryPolicy

	Fault   *Fault
	Mirrors []Mirror
	CORS    *CORS
	// Compression lists the response encodings to offer, in the gateway's
	// order of preference ("gzip", "zstd"); none means no compression.
	Compression []string
	// MaxRequestBytes caps the request body (gwc.io/max-request-body); 0
	// for no limit.
	MaxRequestBytes int64
}

// Match is one HTTPMatchRequest; all its conditions hold together.
type Match struct {
	URI     StringMatch
	Method  StringMatch
	Headers []HeaderMatch // sorted by Name

	// Name is the match's name, for logs.
	Name string
	// IgnoreURICase makes exact and prefix URI matches case-insensitive.
	IgnoreURICase  bool
	WithoutHeaders []HeaderMatch // sorted by Name
	Query          []QueryMatch  // sorted by Name
}

// StringMatch is an Istio StringMatch; a zero Kind means "no condition".
// "present" (an empty StringMatch on a header) only asks that the header
// exists.
type StringMatch struct {
	Kind  string // "", "exact", "prefix", "regex", "present"
	Value string
}

// CertificateFiles is a certificate and its key, as file paths.
type CertificateFiles struct {
	Certificate string
	Key         string
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
	// RequestHeaders and ResponseHeaders are the destination-level
	// operations, applied before the route's.
	RequestHeaders, ResponseHeaders HeaderOps
	// Authority, when set, replaces the Host sent upstream (a request
	// header operation on "host" or ":authority"); it wins over the
	// route's.
	Authority string
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
	// HTTP2 says the upstream speaks cleartext HTTP/2 (its service port
	// has protocol HTTP2, GRPC or GRPC-WEB).
	HTTP2 bool
	// Service, set in a build with Endpoints "kubernetes", names the
	// Kubernetes Service whose EndpointSlices give the endpoints at run
	// time; Endpoints is then empty.
	Service *Service
}

// Service is a Kubernetes Service a cluster takes its endpoints from.
type Service struct {
	Namespace, Name string
	// Port is the Service port.
	Port int
	// Labels are the subset's "key=value" labels, sorted: the endpoints
	// whose pods have them all.
	Labels []string
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
	// H2Upgrade is connectionPool.http.h2UpgradePolicy UPGRADE: the
	// cluster speaks HTTP/2 whatever its port's protocol.
	H2Upgrade bool
}

// HashPolicy is the key of a consistent-hash balancer; one field is set.
type HashPolicy struct {
	Header     string
	Cookie     string
	CookiePath string
	CookieTTL  time.Duration
	// CookieGenerate says the rule has a ttl, even 0: the gateway then
	// makes the cookie when a request has none.
	CookieGenerate bool
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
	// CredentialName names a credential under the binary's
	// --credentials-dir (NAME/ca.crt or NAME-cacert/ca.crt; with Mutual also
	// NAME/tls.crt and NAME/tls.key), instead of the file fields.
	CredentialName string
	Mutual         bool
}

// QueryMatch matches one query parameter by name; a "present" Kind only
// asks that the parameter exists.
type QueryMatch struct {
	Name  string
	Match StringMatch
}

// HeaderOps are Istio header operations on one direction of a request:
// Remove first, then Set (overwrite), then Add (append), as Envoy applies
// them.
type HeaderOps struct {
	Set    []Header // sorted by Name
	Add    []Header // sorted by Name
	Remove []string // sorted
}

// Empty reports whether o does nothing.
func (o HeaderOps) Empty() bool { return len(o.Set)+len(o.Add)+len(o.Remove) == 0 }

// Header is one header name (lower case) and value.
type Header struct {
	Name, Value string
}

// Redirect is an HTTPRedirect. Empty fields keep the request's part.
type Redirect struct {
	// Path replaces the whole path (uri); PrefixRewrite, when
	// RewritePrefix, replaces MatchedPrefix (prefixRewrite).
	Path          string
	RewritePrefix bool
	PrefixRewrite string
	MatchedPrefix string
	IgnoreCase    bool
	Authority     string
	// Port is the port to put in the Location, 0 for none.
	Port   int
	Scheme string
	Code   int
}

// DirectResponse is an HTTPDirectResponse.
type DirectResponse struct {
	Status int
	Body   []byte
}

// Rewrite is an HTTPRewrite; empty strings mean "not set".
type Rewrite struct {
	// URI replaces MatchedPrefix at the start of the path (Envoy's
	// prefix_rewrite), or the whole path when WholePath (the route's uri
	// match is exact or regex).
	URI           string
	MatchedPrefix string
	WholePath     bool
	// IgnoreCase: the prefix was matched case-insensitively.
	IgnoreCase bool
	// RegexMatch and RegexSubst are uriRegexRewrite; RegexSubst uses
	// RE2's \1 references.
	RegexMatch, RegexSubst string
	Authority              string
}

// RetryPolicy is an HTTPRetry after Istio's defaults are applied.
type RetryPolicy struct {
	// Attempts is the number of retries; 0 disables them.
	Attempts int
	// PerTryTimeoutMS is 0 for none.
	PerTryTimeoutMS int64
	// On lists Envoy retry conditions, StatusCodes the retriable codes.
	On          []string
	StatusCodes []int
	// BackoffMS is the base back-off interval, 0 for Envoy's 25ms.
	BackoffMS int64
	// AllowPreviousHosts lets a retry go to an endpoint already tried
	// (retryIgnorePreviousHosts: false).
	AllowPreviousHosts bool
}

// DefaultRetry is istiod's built-in retry policy, for a rule without
// retries (retry.DefaultPolicy): 2 retries on these conditions, no status
// codes.
var DefaultRetry = RetryPolicy{
	Attempts: 2,
	On:       []string{"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"},
}

// Fault is an HTTPFaultInjection; a zero percentage never fires.
type Fault struct {
	DelayMS      int64
	DelayPercent float64
	// AbortStatus is an HTTP status; AbortGRPC a gRPC code number (-1 for
	// none).
	AbortStatus  int
	AbortGRPC    int
	AbortPercent float64
}

// Mirror sends a copy of the request to a cluster, fire and forget.
type Mirror struct {
	Cluster int // index into Config.Clusters
	Percent float64
}

// CORS is a CorsPolicy, answered at the gateway as Envoy's CORS filter.
type CORS struct {
	AllowOrigins     []StringMatch
	AllowMethods     string // joined with ","
	AllowHeaders     string
	ExposeHeaders    string
	MaxAge           string // whole seconds, "" for none
	AllowCredentials bool
	// ForwardUnmatchedPreflights: a preflight from an origin not allowed
	// goes upstream (Istio's default).
	ForwardUnmatchedPreflights bool
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

// AuthzPolicy is one AuthorizationPolicy applied at the gateway.
type AuthzPolicy struct {
	Origin Origin
	// Action is "ALLOW", "DENY", "AUDIT" or "CUSTOM".
	Action string
	// Name is Envoy's policy name under Istio, "ns[NS]-policy[NAME]".
	Name string
	// Rules are the policy's rules; none is Istio's allow-nothing (ALLOW)
	// or a policy that matches nothing (DENY, AUDIT, CUSTOM).
	Rules []AuthzRule
	// Provider is the external authorizer of a CUSTOM policy.
	Provider *ExtAuthz
}

// ExtAuthz is a meshConfig extensionProviders entry of kind
// envoyExtAuthzHttp or envoyExtAuthzGrpc.
type ExtAuthz struct {
	Provider string
	GRPC     bool
	Service  string
	Port     int
	// Timeout is 0 for Istio's default (600s); StatusOnError 0 for 403.
	Timeout       time.Duration
	FailOpen      bool
	StatusOnError int
	// The HTTP provider's fields; header lists in Istio's forms.
	PathPrefix                 string
	IncludeRequestHeaders      []string
	AdditionalHeaders          []Label // sorted by Key
	HeadersToUpstreamOnAllow   []string
	HeadersToDownstreamOnAllow []string
	HeadersToDownstreamOnDeny  []string
}

// AuthzRule is one rule: it matches when one From clause matches (or there
// are none), one To clause matches (or there are none) and every When
// condition holds.
type AuthzRule struct {
	Origin Origin
	// Name is "ns[NS]-policy[NAME]-rule[I]".
	Name string
	From []AuthzClause
	To   []AuthzClause
	When []AuthzCondition
}

// AuthzClause is one from[].source or to[].operation; its conditions are
// AND'ed.
type AuthzClause struct {
	Conditions []AuthzCondition
}

// AuthzCondition is a field and its not form, or a when condition: one of
// Values must match (when there are any) and none of NotValues.
type AuthzCondition struct {
	// Attribute is Istio's name of what is compared: "source.ip",
	// "remote.ip", "source.principal", "source.namespace",
	// "request.auth.principal", "request.auth.audiences",
	// "request.auth.presenter", "request.auth.claims", "request.headers",
	// "hosts", "methods", "paths", "destination.port", "connection.sni".
	Attribute string
	// Key is the claim's path or the header's lower-case name.
	Key       []string
	Values    []AuthzValue
	NotValues []AuthzValue
}

// AuthzValue is one value, classified: Kind "exact", "prefix", "suffix"
// (Value without the '*'), "present" ("*": any non-empty value), "regex"
// (an RE2 full match: path templates, namespace globs), "cidr" (Value a
// masked prefix, 10.0.0.0/8) or "port" (Port).
type AuthzValue struct {
	// Text is the value as written.
	Text  string
	Kind  string
	Value string
	Port  int
	// Sub is a request principal's subject; the value itself is then its
	// issuer.
	Sub *AuthzValue
}

// Tracing is what the Telemetry resources that apply to the gateway ask of
// its tracing: Istio's tracing[] of the most specific Telemetry, resolved
// against the mesh config's providers. Config.Tracing is nil when no
// Telemetry enables tracing.
type Tracing struct {
	// Origin is the Telemetry whose tracing was taken.
	Origin Origin
	// Provider names the extension provider; Kind is its kind,
	// "opentelemetry" (W3C trace context) or "zipkin" (B3).
	Provider, Kind string
	// Service and Port are the provider's, the exporter's default
	// endpoint; "" and 0 when the provider has none (zipkin: its
	// collector speaks Zipkin, not OTLP).
	Service string
	Port    int
	// HTTPPath is the opentelemetry provider's http.path: spans go by
	// OTLP/HTTP to that path; "" for OTLP/gRPC.
	HTTPPath string
	// SamplingPercent is randomSamplingPercentage, 1 when unset (Istio's
	// default).
	SamplingPercent float64
	// DisableSpanReporting: the decision is made and propagated, no span
	// is exported.
	DisableSpanReporting bool
	// CustomTags are sorted by Name.
	CustomTags []CustomTag
	// Operations name each route's span as Istio's route decorator does,
	// sorted by Port, then Route.
	Operations []TraceOperation
}

// CustomTag is one customTags entry.
type CustomTag struct {
	Name string
	// Kind is "literal", "header" or "environment"; Value is the literal,
	// the header name (lower case) or the variable name; Default is the
	// value when the header or variable is absent ("" for none).
	Kind, Value, Default string
}

// TraceOperation is the span name of the requests a route serves on one
// listener port.
type TraceOperation struct {
	Port int
	// Route is the route's Origin string, as the runtime's Route.ID.
	Route     string
	Operation string
}

// JWTRule is one RequestAuthentication jwtRules entry, Istio's defaults
// filled in: a rule without a token location reads "Authorization: Bearer"
// and the access_token query parameter.
type JWTRule struct {
	Origin Origin
	// Issuer is "" when any issuer is accepted (a rule with jwksUri only).
	Issuer    string
	Audiences []string
	// JWKS is the inline key set, checked; JWKSURI is fetched at run time
	// when JWKS is empty, each fetch bounded by Timeout.
	JWKS    string
	JWKSURI string
	// DiscoveryURI, when neither is set, is the issuer's OpenID
	// configuration, whose jwks_uri is fetched (istiod's discovery).
	DiscoveryURI string
	Timeout      time.Duration
	// FromHeaders, FromParams and FromCookies are the token locations.
	FromHeaders []JWTHeader
	FromParams  []string
	FromCookies []string
	// OutputPayloadToHeader is "" for none.
	OutputPayloadToHeader string
	OutputClaimToHeaders  []ClaimToHeader
	ForwardOriginalToken  bool
	// SpaceDelimitedClaims are the rule's, beyond scope and permission.
	SpaceDelimitedClaims []string
}

// JWTHeader is a header a token is read from, after Prefix.
type JWTHeader struct{ Name, Prefix string }

// ClaimToHeader copies a claim (nested with '.') to a request header.
type ClaimToHeader struct{ Header, Claim string }
