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
	// HTTP2 says the upstream speaks cleartext HTTP/2 (its service port
	// has protocol HTTP2, GRPC or GRPC-WEB).
	HTTP2 bool
}

// Endpoint is one upstream address.
type Endpoint struct {
	Host   string
	Port   int
	Weight int
}
