package compiler

import (
	"github.com/gwc-dev/gwc/compiler/load"
)

// The typed model: the parts of each spec the compiler reads, decoded from
// the validated CUE value. Fields the schema accepts but this compiler does
// not implement are detected by unsupported.go, never silently dropped.

type gatewaySpec struct {
	Selector map[string]string `json:"selector"`
	Servers  []server          `json:"servers"`
}

type server struct {
	Port  serverPort `json:"port"`
	Hosts []string   `json:"hosts"`
	TLS   *serverTLS `json:"tls"`
	Bind  string     `json:"bind"`
	Name  string     `json:"name"`
}

type serverPort struct {
	Number   int    `json:"number"`
	Protocol string `json:"protocol"`
	Name     string `json:"name"`
}

type serverTLS struct {
	HTTPSRedirect bool   `json:"httpsRedirect"`
	Mode          string `json:"mode"`

	CredentialName        string   `json:"credentialName"`
	ServerCertificate     string   `json:"serverCertificate"`
	PrivateKey            string   `json:"privateKey"`
	CACertificates        string   `json:"caCertificates"`
	SubjectAltNames       []string `json:"subjectAltNames"`
	VerifyCertificateSpki []string `json:"verifyCertificateSpki"`
	VerifyCertificateHash []string `json:"verifyCertificateHash"`
	MinProtocolVersion    string   `json:"minProtocolVersion"`
	MaxProtocolVersion    string   `json:"maxProtocolVersion"`
	CipherSuites          []string `json:"cipherSuites"`

	CredentialNames      []string         `json:"credentialNames"`
	TLSCertificates      []tlsCertificate `json:"tlsCertificates"`
	CACertCredentialName string           `json:"caCertCredentialName"`
	CACrl                string           `json:"caCrl"`
	InsecureSkipVerify   bool             `json:"insecureSkipVerify"`
}

type tlsCertificate struct {
	ServerCertificate string `json:"serverCertificate"`
	PrivateKey        string `json:"privateKey"`
}

type virtualServiceSpec struct {
	Hosts    []string    `json:"hosts"`
	Gateways []string    `json:"gateways"`
	HTTP     []httpRoute `json:"http"`
	TLS      []l4Rule    `json:"tls"`
	TCP      []l4Rule    `json:"tcp"`
}

// l4Rule is a TLSRoute or a TCPRoute: whole connections to destinations.
type l4Rule struct {
	Match []l4Match       `json:"match"`
	Route []httpRouteDest `json:"route"`
}

// l4Match is the part of TLSMatchAttributes and L4MatchAttributes a
// gateway evaluates; the rest is checked by unsupported.go.
type l4Match struct {
	Port     int      `json:"port"`
	Gateways []string `json:"gateways"`
	SNIHosts []string `json:"sniHosts"`
}

type httpRoute struct {
	Name  string          `json:"name"`
	Match []httpMatch     `json:"match"`
	Route []httpRouteDest `json:"route"`
	// Delegate is rejected by unsupported.go for now.
	Delegate       any                 `json:"delegate"`
	Redirect       *httpRedirect       `json:"redirect"`
	DirectResponse *httpDirectResponse `json:"directResponse"`
	Rewrite        *httpRewrite        `json:"rewrite"`
	Headers        *headers            `json:"headers"`
	Timeout        string              `json:"timeout"`
	Retries        *httpRetry          `json:"retries"`

	Fault            *httpFault     `json:"fault"`
	Mirror           *destination   `json:"mirror"`
	Mirrors          []mirrorPolicy `json:"mirrors"`
	MirrorPercentage *percent       `json:"mirrorPercentage"`
	MirrorPercent    *int           `json:"mirrorPercent"`
	MirrorPercentOld *int           `json:"mirror_percent"`
	CorsPolicy       *corsPolicy    `json:"corsPolicy"`
}

type httpMatch struct {
	Name      string                 `json:"name"`
	URI       *stringMatch           `json:"uri"`
	Scheme    *stringMatch           `json:"scheme"`
	Method    *stringMatch           `json:"method"`
	Authority *stringMatch           `json:"authority"`
	Headers   map[string]stringMatch `json:"headers"`
	Port      int                    `json:"port"`
	Gateways  []string               `json:"gateways"`

	WithoutHeaders map[string]stringMatch `json:"withoutHeaders"`
	QueryParams    map[string]stringMatch `json:"queryParams"`
	IgnoreURICase  bool                   `json:"ignoreUriCase"`
}

type stringMatch struct {
	Exact  *string `json:"exact"`
	Prefix *string `json:"prefix"`
	Regex  *string `json:"regex"`
}

type httpRouteDest struct {
	Destination destination `json:"destination"`
	Weight      *int        `json:"weight"`
	Headers     *headers    `json:"headers"`
}

type destination struct {
	Host   string `json:"host"`
	Subset string `json:"subset"`
	Port   *struct {
		Number int `json:"number"`
	} `json:"port"`
}

type serviceEntrySpec struct {
	Hosts      []string        `json:"hosts"`
	Ports      []servicePort   `json:"ports"`
	Resolution string          `json:"resolution"`
	Endpoints  []workloadEntry `json:"endpoints"`
	// SubjectAltNames are checked on the upstream certificate when a
	// DestinationRule originates TLS without its own.
	SubjectAltNames []string `json:"subjectAltNames"`
}

type servicePort struct {
	Number     int    `json:"number"`
	Protocol   string `json:"protocol"`
	Name       string `json:"name"`
	TargetPort int    `json:"targetPort"`
}

type workloadEntry struct {
	Address string            `json:"address"`
	Ports   map[string]int    `json:"ports"`
	Labels  map[string]string `json:"labels"`
	Weight  int               `json:"weight"`
	// Locality is "region/zone/subzone"; carried to the IR, not yet used
	// for load balancing.
	Locality string `json:"locality"`
}

// gateway, virtualService and serviceEntry pair a decoded spec with the
// resource it came from, for names and positions.
type gateway struct {
	*load.Resource
	Spec gatewaySpec
}

type virtualService struct {
	*load.Resource
	Spec virtualServiceSpec
}

type serviceEntry struct {
	*load.Resource
	Spec serviceEntrySpec
}

type httpRedirect struct {
	URI           string  `json:"uri"`
	Authority     string  `json:"authority"`
	Port          int     `json:"port"`
	DerivePort    string  `json:"derivePort"`
	Scheme        string  `json:"scheme"`
	RedirectCode  int     `json:"redirectCode"`
	PrefixRewrite *string `json:"prefixRewrite"`
}

type httpDirectResponse struct {
	Status int `json:"status"`
	Body   *struct {
		String *string `json:"string"`
		Bytes  *string `json:"bytes"`
	} `json:"body"`
}

type httpRewrite struct {
	URI             string `json:"uri"`
	Authority       string `json:"authority"`
	URIRegexRewrite *struct {
		Match   string `json:"match"`
		Rewrite string `json:"rewrite"`
	} `json:"uriRegexRewrite"`
}

type headers struct {
	Request  *headerOps `json:"request"`
	Response *headerOps `json:"response"`
}

type headerOps struct {
	Set    map[string]string `json:"set"`
	Add    map[string]string `json:"add"`
	Remove []string          `json:"remove"`
}

type httpRetry struct {
	Attempts                 *int    `json:"attempts"`
	PerTryTimeout            string  `json:"perTryTimeout"`
	RetryOn                  *string `json:"retryOn"`
	RetryRemoteLocalities    bool    `json:"retryRemoteLocalities"`
	RetryIgnorePreviousHosts *bool   `json:"retryIgnorePreviousHosts"`
	Backoff                  string  `json:"backoff"`
}

type percent struct {
	Value float64 `json:"value"`
}

type httpFault struct {
	Delay *struct {
		FixedDelay string   `json:"fixedDelay"`
		Percentage *percent `json:"percentage"`
		Percent    int      `json:"percent"`
	} `json:"delay"`
	Abort *struct {
		HTTPStatus int      `json:"httpStatus"`
		GRPCStatus string   `json:"grpcStatus"`
		HTTP2Error string   `json:"http2Error"`
		Percentage *percent `json:"percentage"`
	} `json:"abort"`
}

type mirrorPolicy struct {
	Destination destination `json:"destination"`
	Percentage  *percent    `json:"percentage"`
}

type corsPolicy struct {
	AllowOrigin         []string      `json:"allowOrigin"`
	AllowOrigins        []stringMatch `json:"allowOrigins"`
	AllowMethods        []string      `json:"allowMethods"`
	AllowHeaders        []string      `json:"allowHeaders"`
	ExposeHeaders       []string      `json:"exposeHeaders"`
	MaxAge              string        `json:"maxAge"`
	AllowCredentials    *bool         `json:"allowCredentials"`
	UnmatchedPreflights string        `json:"unmatchedPreflights"`
}
