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
	CodeUnsupported    = "GWC0401" // field gwc does not implement yet: rejected
	CodeIgnored        = "GWC0402" // field gwc accepts and ignores
	CodeNotApplied     = "GWC0403" // resource validated but not compiled
	CodeInternal       = "GWC0900" // a gwc bug
)
