package diag

// Stable diagnostic codes. IST codes are those istioctl analyze gives the
// same finding; GWC codes are gwc's own. A code never changes meaning;
// docs/validation.md lists every rule with its code.
const (
	// Input that cannot be read or parsed.
	CodeSyntax    = "GWC0001" // invalid YAML, JSON or CUE, binary data, nesting or alias bombs
	CodeInput     = "GWC0002" // unreadable path, not a resource, unknown kind or apiVersion
	CodeDuplicate = "GWC0003" // two resources with one kind, namespace and name

	// Schema findings: Istio's admission webhook rejects all of them
	// (istioctl reports them as IST0106).
	CodeUnknownField = "GWC0101"
	CodeMissing      = "GWC0102"
	CodeInvalidValue = "GWC0103" // wrong type, enum, range or format
	CodeExclusive    = "GWC0104" // mutually exclusive fields set together
	CodeSchema       = "GWC0105" // any other schema rule

	// Istio validation rules the schema cannot express, checked in Go;
	// istioctl reports them as IST0106 SchemaValidationError.
	CodeValidation = "IST0106"
	// Validation warnings (istioctl: IST0133 SchemaWarning).
	CodeValidationWarning = "IST0133"

	// Cross-resource analyzers with an istioctl code.
	CodeNotFound           = "IST0101" // referenced gateway, host, subset or credential not found
	CodePortRequired       = "IST0112" // destination of a multi-port service without a port
	CodeUnreachableRule    = "IST0130" // rule after a catch-all, or whose matches all repeat earlier ones
	CodeIneffectiveMatch   = "IST0131" // match repeating an earlier one
	CodeHostNotInGateway   = "IST0132" // VirtualService host served by none of its gateways' servers
	CodeConflictingGateway = "IST0145" // servers of several Gateways claim one host on one port
	CodeSubsetNoPods       = "IST0173" // DestinationRule subset selects no endpoint

	CodeNoServerVerification     = "IST0128" // DestinationRule SIMPLE/MUTUAL TLS without caCertificates
	CodeNoServerVerificationPort = "IST0129" // the same, in a portLevelSettings entry
	CodeConflictingSEProtocol    = "IST0177" // ServiceEntries give one host and port different protocols

	// gwc analyzers and compiler findings with no istioctl counterpart.
	CodeMeshOnly       = "GWC0301" // VirtualService without gateways: ingress ignores it
	CodeWildcardDest   = "GWC0302" // destination host is a wildcard
	CodeNoEndpoints    = "GWC0303" // ServiceEntry without endpoints
	CodePortProtocol   = "GWC0304" // one port, conflicting protocols
	CodeDuplicateHost  = "GWC0305" // same host in several VirtualServices on one gateway
	CodeUnknownHost    = "GWC0306" // destination host with neither ServiceEntry nor cluster-style name
	CodeNoCredentials  = "GWC0307" // TLS server without certificate
	CodeCredentialFile = "GWC0308" // credentialName absent from --credentials-dir
	// A gwc annotation (e.g. gwc.io/compression) with a value gwc cannot use.
	CodeAnnotation = "GWC0309"
	// Several DestinationRules for one host: their subsets are merged and
	// only the first traffic policy applies, so parts of later ones are ignored.
	CodeMergedDestinationRules = "GWC0310"
	// DestinationRule for a host no route sends traffic to: it has no
	// effect (istioctl's IST0174 is the narrower "host has no service").
	CodeUnusedDestinationRule = "GWC0311"
	// HTTPS servers of one port with overlapping hosts: gwc merges their
	// routes into one table where istiod keeps one per server.
	CodeMergedServers = "GWC0312"
	// GatewayPlugin url, timeout or pluginConfig gwc cannot use.
	CodePluginSpec = "GWC0313"
	// GatewayPlugin without sha256: the executable is not verified.
	CodePluginUnverified = "GWC0314"
	// GatewayPlugin match naming no route, or selecting no traffic.
	CodePluginUnmatched = "GWC0315"
	// credentialName in a form Istio accepts that names no Secret gwc can
	// read under --credentials-dir: a credential provider (builtin://,
	// file-cert:, sds://), another namespace's Secret, or no Secret name.
	CodeCredentialForm = "GWC0316"
	// A security.istio.io resource (telemetry.istio.io until tracing): gwc does not
	// enforce it, and building without it would fail open.
	CodeNotEnforced = "GWC0317"
	// The --mesh-config file: unreadable, or an extension provider gwc
	// cannot read.
	CodeMeshConfig = "GWC0320"
	// A Telemetry field or provider gwc cannot honour.
	CodeTelemetry = "GWC0321"
	// A VirtualService match on a JWT claim (@request.auth.claims) while
	// no RequestAuthentication applies to the gateway: the claim is never
	// set, so the match never holds.
	CodeClaimNeverSet = "GWC0325"
	// A RequestAuthentication jwksUri over plain http: Istio accepts it,
	// but anyone on the path can replace the keys.
	CodeInsecureJWKS = "GWC0326"

	// Valid in Istio, not supported by gwc: rejected, with what to do
	// instead (docs/differences.md lists every such form).
	CodeUnsupported = "GWC0401"
	// UnsupportedPrefix opens every GWC0401 message, so that a user can
	// tell a resource Istio would refuse from one gwc cannot serve.
	UnsupportedPrefix = "valid in Istio, not supported by gwc: "
	CodeIgnored       = "GWC0402" // field gwc accepts and ignores
	CodeNotApplied    = "GWC0403" // resource validated but not compiled
	CodeInternal      = "GWC0900" // a gwc bug
)
