package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// The generated corpus: each seed below is a resource both Istio and gwc
// accept, using most fields of its kind; every field of every seed is
// then replaced, in turn, by boundary and invalid values, removed, or
// joined by a conflicting field. Each mutant differs from its seed in one
// place, so a disagreement points at one rule.
var seeds = []string{`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  selector: {istio: ingressgateway}
  servers:
  - name: http
    port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com", "ns/api.example.com"]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [shop.example.com]
    bind: 0.0.0.0
    tls:
      mode: SIMPLE
      credentialName: shop-cert
      minProtocolVersion: TLSV1_2
      maxProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]
  - port: {number: 8443, name: mtls, protocol: HTTPS}
    hosts: [mtls.example.com]
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/tls.crt
      privateKey: /etc/certs/tls.key
      caCertificates: /etc/certs/ca.crt
      subjectAltNames: [client.example.com]
  - port: {number: 9443, name: tls, protocol: TLS}
    hosts: [db.example.com]
    tls: {mode: PASSTHROUGH}
  - port: {number: 3306, name: tcp, protocol: TCP}
    hosts: ["*"]
`, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: ns}
spec:
  hosts: [shop.example.com, "*.api.example.com"]
  gateways: [gw, other/gw2]
  exportTo: ["."]
  http:
  - name: api
    match:
    - uri: {prefix: /api/}
      method: {exact: GET}
      headers:
        x-version: {exact: v2}
        x-user: {regex: "[a-z]+"}
      queryParams: {debug: {exact: "1"}}
      authority: {prefix: shop}
      scheme: {exact: https}
      port: 443
      ignoreUriCase: true
      withoutHeaders: {x-skip: {}}
    - uri: {regex: "/v[0-9]+/.*"}
    route:
    - destination: {host: api.ns.svc.cluster.local, subset: v1, port: {number: 8080}}
      weight: 90
      headers:
        request: {set: {x-route: api}}
        response: {remove: [x-internal]}
    - destination: {host: api-canary, port: {number: 8080}}
      weight: 10
    rewrite: {uri: /, authority: api.internal}
    timeout: 10s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure"}
    mirror: {host: shadow}
    mirrorPercentage: {value: 10}
    corsPolicy:
      allowOrigins: [{exact: "https://shop.example.com"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-token]
      exposeHeaders: [x-trace]
      maxAge: 24h
      allowCredentials: true
    headers:
      request: {add: {x-added: "1"}, remove: [x-drop]}
      response: {set: {cache-control: no-store}}
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: new.example.com, redirectCode: 301}
  - match: [{uri: {prefix: /health}}]
    directResponse: {status: 200, body: {string: ok}}
  - match: [{uri: {prefix: /slow}}]
    route: [{destination: {host: slow}}]
    fault:
      delay: {fixedDelay: 5s, percentage: {value: 50}}
      abort: {httpStatus: 503, percentage: {value: 1}}
  - match: [{uri: {prefix: /re}}]
    rewrite: {uriRegexRewrite: {match: "^/re/(.*)$", rewrite: "/\\1"}}
    route: [{destination: {host: re}}]
  - route: [{destination: {host: web}}]
  tls:
  - match: [{sniHosts: [shop.example.com], port: 443}]
    route: [{destination: {host: shop-tls, port: {number: 443}}}]
  tcp:
  - match: [{port: 3306}]
    route: [{destination: {host: mysql, port: {number: 3306}}}]
`, `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr, namespace: ns}
spec:
  host: api.ns.svc.cluster.local
  exportTo: ["*"]
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}}
      http: {http1MaxPendingRequests: 1, http2MaxRequests: 1000, maxRequestsPerConnection: 10, maxRetries: 3, idleTimeout: 1h}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 10, minHealthPercent: 50}
    tls: {mode: SIMPLE, sni: api.example.com, caCertificates: /etc/ca.pem}
    portLevelSettings:
    - port: {number: 8080}
      loadBalancer: {consistentHash: {httpHeaderName: x-user}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 0s}, ringHash: {minimumRingSize: 1024}}}
  - name: v2
    labels: {version: v2}
`, `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se, namespace: ns}
spec:
  hosts: [api.example.com]
  addresses: [10.0.0.0/24]
  ports:
  - {number: 8080, name: http, protocol: HTTP, targetPort: 80}
  - {number: 443, name: https, protocol: HTTPS}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
  - address: 10.0.0.1
    ports: {http: 8081}
    labels: {version: v1}
    weight: 1
  - address: 10.0.0.2
`, `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns, namespace: ns}
spec:
  hosts: [www.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints: [{address: www.example.com}]
`, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: ns}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: ALLOW
  rules:
  - from:
    - source:
        requestPrincipals: ["https://issuer.example.com/*"]
        notRequestPrincipals: ["*/blocked"]
        ipBlocks: [10.0.0.0/8, 192.168.1.1]
        notIpBlocks: [10.1.0.0/16]
        remoteIpBlocks: [203.0.113.0/24]
        notRemoteIpBlocks: ["2001:db8::/32"]
    to:
    - operation:
        hosts: [shop.example.com, "*.example.com"]
        notHosts: [admin.example.com]
        ports: ["80", "8080"]
        notPorts: ["9090"]
        methods: [GET, POST]
        notMethods: [DELETE]
        paths: ["/api/*", "/static/{*}/logo.png", /exact, "*/suffix"]
        notPaths: ["/api/admin/{**}"]
    when:
    - key: request.auth.claims[groups]
      values: [admins]
    - key: request.headers[x-tenant]
      notValues: [blocked]
    - key: source.ip
      values: [10.0.0.1]
    - key: remote.ip
      values: [10.0.0.0/8]
    - key: request.auth.principal
      values: ["issuer/sub"]
    - key: request.auth.audiences
      values: [shop]
    - key: request.auth.presenter
      values: [app]
    - key: destination.port
      values: ["80"]
    - key: connection.sni
      values: [shop.example.com]
  - to: [{operation: {methods: [GET]}}]
`, `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: ns}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"], ports: ["80"]}}]
`, `
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: custom, namespace: ns}
spec:
  action: CUSTOM
  provider: {name: ext-authz}
  rules:
  - to: [{operation: {paths: ["/private/*"]}}]
    when:
    - key: request.headers[x-user]
      values: ["*"]
`, `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: ns}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules:
  - issuer: https://issuer.example.com
    audiences: [shop, api]
    jwksUri: https://issuer.example.com/.well-known/jwks.json
    fromHeaders: [{name: x-jwt, prefix: "Bearer "}]
    fromParams: [token]
    fromCookies: [session]
    outputPayloadToHeader: x-jwt-payload
    forwardOriginalToken: true
    outputClaimToHeaders: [{header: x-sub, claim: sub}]
    timeout: 5s
  - issuer: other.example.com
    jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig","kid":"1"}]}'
`, `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: tracing, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  tracing:
  - providers: [{name: otel}]
    randomSamplingPercentage: 10
    disableSpanReporting: false
    customTags:
      lit: {literal: {value: gw}}
      env: {environment: {name: POD_NAME, defaultValue: unknown}}
      hdr: {header: {name: x-tenant, defaultValue: none}}
`}

// stringValues replace every string: empty, blank, wildcards, bad and
// numeric labels, IPs and ports, regexes RE2 refuses, pseudo-headers and
// header names with forbidden characters, Envoy variables, unix paths,
// namespaces, unknown enum values, durations out of range.
var stringValues = []string{
	"", " ", "*", "**", "*.", "a b", "UPPER.example.com", "-bad.example.com", "bad-.example.com",
	"a..b", "example.com.", "example.1", "example.com.123", "123", "1.2.3.4", "1.2.3.4/33", "10.0.0.0/8", "::1", "[::1]", "1.2.3.4:80",
	"host:port", "*.example.com", "a*.example.com", "*.*.example.com", "ns/host.example.com", "./host.example.com", "*/host.example.com", "~/h.example.com",
	"bad/ns/host", strings.Repeat("a", 64) + ".example.com", strings.Repeat("a.", 127) + "com",
	"(", "[a-", "(?=x)", `\1`, "a{1001}", strings.Repeat("a", 1025),
	":path", ":authority", ":method", "host", "Host", "x-ok", "x y", "x\ny", "x\u0000y", "x:y", "@request.auth.claims.sub", "@request.auth.claims[sub]",
	"%DOWNSTREAM_REMOTE_ADDRESS%", "100%", "%%", "%BOGUS%",
	"unix:///tmp/s.sock", "unix://@abstract", "unix://relative",
	"BOGUS", "simple", "0s", "-1s", "0.5ms", "1ms", "1.5ms", "100ns", "1h", "1x", "1000000h", "1.0001s", "10", "10s",
	"http", "https", "ftp", "GET", "get", "CONNECT", "https://", "https://x.example.com", "http://x.example.com:99999",
	"5xx,bogus", "retriable-status-codes,503", "gateway-error", "503",
	"=", "a=b", "Max-Age=1", "SameSite=Strict",
	"aGVsbG8=", "not base64!", "v1", "V1", "sub_set", "a.b",
}

// policyValues also replace every string of the security.istio.io and
// telemetry.istio.io seeds: CIDRs and IPs of every malformed kind, ports,
// path templates Istio's parser refuses, condition values, principals,
// issuers and jwksUri forms, header names and prefixes, provider names.
var policyValues = []string{
	"10.0.0.0/33", "10.0.0.1/8", "10.0.0.256", "10.0.0.0/-1", "10.0.0.0/", "/8", "2001:db8::/129", "2001:db8::1/64", "::/0", "0.0.0.0/0",
	"fe80::1%eth0", "10.0.0.1 ", " 10.0.0.1", "10.0.0.*",
	"0", "65535", "65536", "-1", "80-90", "http", "08080", "+80",
	"/", "/*", "*/", "/a*b", "/{*}", "/{**}", "/{**}/a", "/a/{**}", "/a/{*}/{**}", "/{*}/{*}", "/a{*}", "/{*}a", "/{x}", "/{ * }",
	"/{*}/*", "*/{*}", "/a b", "/a?b", "/a#b", "/%2F", "/~!$&'()+,;=:@", "//", "/a//b", "a",
	"*/*", "*/sub", "iss/*", "issuer/sub", "spiffe://cluster.local/ns/a/sa/b", "cluster.local/ns/a/sa/b", "ns/a",
	"request.auth.claims[groups]", "request.auth.claims[a][b]", "request.auth.claims[]", "request.auth.claims", "request.headers[x]",
	"request.headers[]", "request.headers", "source.ip", "remote.ip", "source.namespace", "source.principal", "request.auth.principal",
	"request.auth.audiences", "request.auth.presenter", "destination.ip", "destination.port", "connection.sni", "experimental.envoy.filters.a[b]",
	"source.serviceAccount", "source.trustDomain", "bogus.key",
	"https://issuer.example.com/jwks", "http://issuer.example.com/jwks", "https://issuer.example.com:8443/jwks", "https://10.0.0.1/jwks",
	"https://[::1]:8443/jwks", "http://localhost:8080/jwks", "file:///etc/jwks.json", "https:///jwks", "https://issuer.example.com:99999/jwks",
	"https://issuer.example.com:x/jwks", "HTTPS://ISSUER.EXAMPLE.COM/jwks", "//issuer.example.com/jwks", "issuer.example.com/jwks",
	`{"keys":[]}`, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, `{"keys":[{"kty":"RSA"}]}`, "{}", "not json",
	"Bearer ", "bearer", "x-jwt", "X-JWT", "x_jwt", "x.jwt", "x/jwt", "authorization",
	"otel", "zipkin", "envoy", "prometheus", "stackdriver", "skywalking", "ext-authz", "BOGUS_PROVIDER",
	"GET", "get", "PURGE", "*", "POST ",
}

// numberValues replace every number.
var numberValues = []float64{0, -1, 1, 0.5, 99, 100, 101, 199, 200, 299, 300, 399, 400, 599, 600, 1023, 1024, 65535, 65536, 4294967295, 4294967296, 1e12}

// additions join fields that conflict with or refine the seed's, at the
// given object path ("spec.http[1]"), one at a time.
var additions = []struct {
	kind, path, key string
	value           string // YAML
}{
	{"VirtualService", "spec.http[0]", "redirect", "{uri: /x}"},
	{"VirtualService", "spec.http[0]", "directResponse", "{status: 200}"},
	{"VirtualService", "spec.http[0]", "delegate", "{name: d}"},
	{"VirtualService", "spec.http[0].rewrite", "uriRegexRewrite", `{match: "a", rewrite: "b"}`},
	{"VirtualService", "spec.http[0]", "mirrors", "[{destination: {host: m}}]"},
	{"VirtualService", "spec.http[0]", "mirror_percent", "5"},
	{"VirtualService", "spec.http[0]", "retries", "{attempts: 0, perTryTimeout: 1s}"},
	{"VirtualService", "spec.http[0]", "retries", "{attempts: 0, retryOn: 5xx}"},
	{"VirtualService", "spec.http[0]", "retries", "{attempts: 2, retryRemoteLocalities: true, backoff: 25ms}"},
	{"VirtualService", "spec.http[0]", "fault", "{}"},
	{"VirtualService", "spec.http[0]", "fault", "{abort: {grpcStatus: UNAVAILABLE}}"},
	{"VirtualService", "spec.http[0]", "fault", "{abort: {grpcStatus: BOGUS}}"},
	{"VirtualService", "spec.http[0]", "fault", "{abort: {http2Error: CANCEL}}"},
	{"VirtualService", "spec.http[0]", "fault", "{delay: {exponentialDelay: 1s}}"},
	{"VirtualService", "spec.http[0]", "fault", "{delay: {fixedDelay: 1s, percent: 50}}"},
	{"VirtualService", "spec.http[0].match[0]", "uri", "{prefix: \"\"}"},
	{"VirtualService", "spec.http[0].match[0]", "uri", "{}"},
	{"VirtualService", "spec.http[0].match[0]", "method", "{prefix: \"\"}"},
	{"VirtualService", "spec.http[0].match[0]", "gateways", "[gw]"},
	{"VirtualService", "spec.http[0].match[0]", "gateways", "[mesh]"},
	{"VirtualService", "spec.http[0].match[0]", "sourceLabels", "{app: x}"},
	{"VirtualService", "spec.http[0].match[0]", "sourceNamespace", "bad_ns"},
	{"VirtualService", "spec.http[0].match[0]", "statPrefix", "api"},
	{"VirtualService", "spec.http[0].match[0].headers", ":path", "{exact: /x}"},
	{"VirtualService", "spec.http[0].match[0].headers", "bad header", "{exact: x}"},
	{"VirtualService", "spec.http[0].match[0].headers", "x-empty", "{prefix: \"\"}"},
	{"VirtualService", "spec.http[0].match[0].queryParams", "p", "{prefix: a}"},
	{"VirtualService", "spec.http[0].headers.request", "set", "{\":authority\": x.example.com}"},
	{"VirtualService", "spec.http[0].headers.request", "remove", "[\":authority\"]"},
	{"VirtualService", "spec.http[0].headers.response", "add", "{host: x}"},
	{"VirtualService", "spec.http[0].corsPolicy", "allowOrigin", "[\"*\"]"},
	{"VirtualService", "spec.http[0].corsPolicy", "allowOrigins", "[{}]"},
	{"VirtualService", "spec.http[0].corsPolicy", "allowHeaders", "[\"bad header\"]"},
	{"VirtualService", "spec.http[0].corsPolicy", "exposeHeaders", "[\"a:b\"]"},
	{"VirtualService", "spec.http[0].corsPolicy", "unmatchedPreflights", "IGNORE"},
	{"VirtualService", "spec.http[0].route[0]", "weight", "0"},
	{"VirtualService", "spec.http[0]", "route", "[{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]"},
	{"VirtualService", "spec.http[0]", "route", "[{destination: {host: a}, weight: 50}]"},
	{"VirtualService", "spec.http[0]", "route", "[]"},
	{"VirtualService", "spec.http[1]", "route", "[{destination: {host: a}}]"},
	{"VirtualService", "spec.http[1]", "fault", "{abort: {httpStatus: 500, percentage: {value: 1}}}"},
	{"VirtualService", "spec.http[1]", "rewrite", "{uri: /x}"},
	{"VirtualService", "spec.http[1].redirect", "prefixRewrite", "/x"},
	{"VirtualService", "spec.http[1].redirect", "derivePort", "FROM_PROTOCOL_DEFAULT"},
	{"VirtualService", "spec.http[1].redirect", "port", "8080"},
	{"VirtualService", "spec.http[1].redirect", "scheme", "ftp"},
	{"VirtualService", "spec.http[2].directResponse.body", "bytes", "aGVsbG8="},
	{"VirtualService", "spec.http[2]", "rewrite", "{uri: /x}"},
	{"VirtualService", "spec.http[2]", "headers", "{response: {set: {x-a: b}}}"},
	{"VirtualService", "spec.tls[0]", "route", "[]"},
	{"VirtualService", "spec.tcp[0]", "route", "[]"},
	{"VirtualService", "spec.tcp[0]", "route", "[{destination: {host: a}, weight: 0}, {destination: {host: b}, weight: 0}]"},
	{"VirtualService", "spec.tcp[0].match[0]", "destinationSubnets", "[10.0.0.0/8]"},
	{"VirtualService", "spec.tcp[0].match[0]", "sourceSubnet", "10.0.0.0/8"},
	{"VirtualService", "spec.tcp[0].match[0]", "gateways", "[gw]"},
	{"VirtualService", "spec.tls[0].match[0]", "sniHosts", "[other.example.com]"},
	{"VirtualService", "spec.tls[0].match[0]", "sniHosts", "[\"*.example.com\"]"},
	{"VirtualService", "spec.tls[0].match[0]", "destinationSubnets", "[10.0.0.0/8]"},
	{"VirtualService", "spec", "hosts", "[]"},
	{"VirtualService", "spec", "hosts", "[\"*\"]"},
	{"VirtualService", "spec", "hosts", "[a.example.com, a.example.com]"},
	{"VirtualService", "spec", "hosts", "[\"*.example.com\", a.example.com]"},
	{"VirtualService", "spec", "gateways", "[mesh]"},
	{"VirtualService", "spec", "gateways", "[]"},
	{"VirtualService", "spec", "exportTo", "[\".\", \"*\"]"},
	{"VirtualService", "spec", "exportTo", "[\"~\"]"},
	{"VirtualService", "spec", "exportTo", "[a, a]"},
	{"VirtualService", "spec", "http", "[]"},
	{"Gateway", "spec.servers[0].port", "targetPort", "8080"},
	{"Gateway", "spec.servers[0]", "defaultEndpoint", "127.0.0.1:8080"},
	{"Gateway", "spec.servers[0]", "tls", "{mode: SIMPLE, credentialName: c}"},
	{"Gateway", "spec.servers[1].tls", "credentialNames", "[a, b]"},
	{"Gateway", "spec.servers[1].tls", "serverCertificate", "/a.crt"},
	{"Gateway", "spec.servers[1].tls", "caCrl", "/crl.pem"},
	{"Gateway", "spec.servers[1].tls", "httpsRedirect", "true"},
	{"Gateway", "spec.servers[1].tls", "verifyCertificateSpki", "[\"YWJj\"]"},
	{"Gateway", "spec.servers[1].tls", "verifyCertificateHash", "[\"zz\"]"},
	{"Gateway", "spec.servers[1].tls", "mode", "ISTIO_MUTUAL"},
	{"Gateway", "spec.servers[1].tls", "mode", "AUTO_PASSTHROUGH"},
	{"Gateway", "spec.servers[1].tls", "mode", "OPTIONAL_MUTUAL"},
	{"Gateway", "spec.servers[1].tls", "tlsCertificates", "[{serverCertificate: /a, privateKey: /b}]"},
	{"Gateway", "spec.servers[2].tls", "credentialName", "c"},
	{"Gateway", "spec.servers[3].tls", "serverCertificate", "/a.crt"},
	{"Gateway", "spec.servers[3].tls", "mode", "AUTO_PASSTHROUGH"},
	{"Gateway", "spec.servers[3].tls", "mode", "ISTIO_MUTUAL"},
	{"Gateway", "spec.servers[4]", "tls", "{mode: SIMPLE, credentialName: c}"},
	{"Gateway", "spec.servers[4]", "name", "http"},
	{"Gateway", "spec.servers[4].port", "name", "http"},
	{"Gateway", "spec.servers[4]", "bind", "unix:///tmp/gw.sock"},
	{"Gateway", "spec.servers[4].port", "protocol", "MONGO"},
	{"Gateway", "spec.servers[4].port", "protocol", "GRPC"},
	{"Gateway", "spec.servers[4].port", "protocol", "HTTP2"},
	{"Gateway", "spec.servers[4].port", "number", "80"},
	{"Gateway", "spec", "servers", "[]"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{consistentHash: {maglev: {tableSize: 65537}, httpHeaderName: x}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{consistentHash: {maglev: {tableSize: 1000}, httpHeaderName: x}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{consistentHash: {useSourceIp: true, minimumRingSize: 10}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{consistentHash: {httpQueryParameterName: q}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{consistentHash: {}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{simple: ROUND_ROBIN, warmupDurationSecs: 10s}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{simple: ROUND_ROBIN, warmup: {duration: 10s, aggression: 0.5, minimumPercent: 10}}"},
	{"DestinationRule", "spec.trafficPolicy", "loadBalancer", "{localityLbSetting: {enabled: true, failover: [{from: a, to: b}]}}"},
	{"DestinationRule", "spec.trafficPolicy", "connectionPool", "{}"},
	{"DestinationRule", "spec.trafficPolicy.connectionPool.http", "h2UpgradePolicy", "UPGRADE"},
	{"DestinationRule", "spec.trafficPolicy", "connectionPool", "{tcp: {maxConnectionDuration: 0.5ms}}"},
	{"DestinationRule", "spec.trafficPolicy", "outlierDetection", "{consecutiveLocalOriginFailures: 5}"},
	{"DestinationRule", "spec.trafficPolicy", "outlierDetection", "{consecutiveErrors: 5}"},
	{"DestinationRule", "spec.trafficPolicy", "tls", "{mode: ISTIO_MUTUAL}"},
	{"DestinationRule", "spec.trafficPolicy", "tls", "{mode: MUTUAL}"},
	{"DestinationRule", "spec.trafficPolicy", "tls", "{mode: MUTUAL, credentialName: c}"},
	{"DestinationRule", "spec.trafficPolicy", "tls", "{mode: SIMPLE, insecureSkipVerify: true, caCertificates: /ca}"},
	{"DestinationRule", "spec.trafficPolicy", "tls", "{mode: DISABLE, clientCertificate: /c, privateKey: /k}"},
	{"DestinationRule", "spec.trafficPolicy", "tunnel", "{protocol: CONNECT, targetHost: a, targetPort: 80}"},
	{"DestinationRule", "spec.trafficPolicy", "proxyProtocol", "{version: V1}"},
	{"DestinationRule", "spec.trafficPolicy", "portLevelSettings", "[{port: {number: 80}}]"},
	{"DestinationRule", "spec.trafficPolicy", "portLevelSettings", "[{tls: {mode: SIMPLE}}]"},
	{"DestinationRule", "spec.trafficPolicy", "portLevelSettings", "[{port: {number: 80}, tls: {mode: SIMPLE}}, {port: {number: 80}, tls: {mode: SIMPLE}}]"},
	{"DestinationRule", "spec", "trafficPolicy", "{}"},
	{"DestinationRule", "spec", "subsets", "[{name: a}, {name: a}]"},
	{"DestinationRule", "spec", "subsets", "[{name: a, labels: {\"bad key!\": x}}]"},
	{"DestinationRule", "spec", "subsets", "[{name: a, labels: {k: \"bad value!\"}}]"},
	{"DestinationRule", "spec", "workloadSelector", "{matchLabels: {app: x}}"},
	{"DestinationRule", "spec", "host", "\"*\""},
	{"ServiceEntry", "spec", "workloadSelector", "{labels: {app: x}}"},
	{"ServiceEntry", "spec", "resolution", "NONE"},
	{"ServiceEntry", "spec", "resolution", "DNS"},
	{"ServiceEntry", "spec", "resolution", "DNS_ROUND_ROBIN"},
	{"ServiceEntry", "spec", "resolution", "DYNAMIC_DNS"},
	{"ServiceEntry", "spec", "location", "MESH_INTERNAL"},
	{"ServiceEntry", "spec", "hosts", "[a.example.com, b.example.com]"},
	{"ServiceEntry", "spec", "hosts", "[\"*.example.com\"]"},
	{"ServiceEntry", "spec", "ports", "[{number: 80, name: a, protocol: TCP}, {number: 80, name: b, protocol: HTTP}]"},
	{"ServiceEntry", "spec", "ports", "[{number: 80, name: a, protocol: TCP}, {number: 81, name: a, protocol: HTTP}]"},
	{"ServiceEntry", "spec", "ports", "[{number: 80, name: a, protocol: TCP}]"},
	{"ServiceEntry", "spec", "ports", "[]"},
	{"ServiceEntry", "spec", "endpoints", "[{address: unix:///tmp/s.sock}]"},
	{"ServiceEntry", "spec", "endpoints", "[{address: 10.0.0.1, ports: {nope: 80}}]"},
	{"ServiceEntry", "spec", "endpoints", "[{address: 10.0.0.1, network: n1, locality: us/east, serviceAccount: sa}]"},
	{"ServiceEntry", "spec", "endpoints", "[]"},
	{"ServiceEntry", "spec", "subjectAltNames", "[spiffe://a/b]"},
	{"ServiceEntry", "spec", "exportTo", "[\"~\"]"},
	{"ServiceEntry", "spec", "exportTo", "[\"~\", \".\"]"},
	{"AuthorizationPolicy", "spec", "action", "AUDIT"},
	{"AuthorizationPolicy", "spec", "action", "CUSTOM"},
	{"AuthorizationPolicy", "spec", "action", "DENY"},
	{"AuthorizationPolicy", "spec", "provider", "{name: ext-authz}"},
	{"AuthorizationPolicy", "spec", "provider", "{}"},
	{"AuthorizationPolicy", "spec", "targetRef", "{kind: Gateway, group: gateway.networking.k8s.io, name: gw}"},
	{"AuthorizationPolicy", "spec", "targetRefs", "[{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]"},
	{"AuthorizationPolicy", "spec", "targetRefs", "[{kind: Service, group: \"\", name: svc}]"},
	{"AuthorizationPolicy", "spec", "targetRefs", "[{kind: Gateway, group: gateway.networking.k8s.io, name: gw, namespace: other}]"},
	{"AuthorizationPolicy", "spec", "selector", "{}"},
	{"AuthorizationPolicy", "spec", "selector", "{matchLabels: {\"bad key!\": x}}"},
	{"AuthorizationPolicy", "spec", "selector", "{matchLabels: {\"\": x}}"},
	{"AuthorizationPolicy", "spec", "rules", "[]"},
	{"AuthorizationPolicy", "spec", "rules", "[{}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{from: []}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{to: []}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{when: []}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{from: [{}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{from: [{source: {}}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{to: [{}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{to: [{operation: {}}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{when: [{key: source.ip}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{when: [{key: \"\", values: [a]}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{when: [{key: \"request.auth.claims[a]\", values: []}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{when: [{values: [a]}]}]"},
	{"AuthorizationPolicy", "spec", "rules", "[{to: [{operation: {ports: [\"80\"]}}], bogus: 1}]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "principals", "[cluster.local/ns/a/sa/b]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "notPrincipals", "[\"*\"]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "namespaces", "[a]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "notNamespaces", "[a]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "serviceAccounts", "[a/b]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "notServiceAccounts", "[a/b]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "serviceAccounts", "[b]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "serviceAccounts", "[a/b/c]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "trustDomains", "[cluster.local]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "notTrustDomains", "[\"\"]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "ipBlocks", "[]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "ipBlocks", "[\"\"]"},
	{"AuthorizationPolicy", "spec.rules[0].from[0].source", "bogus", "[a]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "bogus", "[a]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "ports", "[]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "ports", "[80]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "paths", "[\"/a/{**}/b\"]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "paths", "[\"/{*}/{**}\"]"},
	{"AuthorizationPolicy", "spec.rules[0].to[0].operation", "paths", "[\"/a/{*}*\"]"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "values", "[]"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "notValues", "[a]"},
	{"AuthorizationPolicy", "spec.rules[0].when[2]", "values", "[10.0.0.0/33]"},
	{"AuthorizationPolicy", "spec.rules[0].when[2]", "notValues", "[bad]"},
	{"AuthorizationPolicy", "spec.rules[0].when[7]", "values", "[\"65536\"]"},
	{"AuthorizationPolicy", "spec.rules[0].when[7]", "values", "[http]"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "bogus", "x"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "key", "request.auth.claims[a][b][c]"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "key", "request.auth.claims[a.b]"},
	{"AuthorizationPolicy", "spec.rules[0].when[0]", "key", "request.auth.claims[a"},
	{"AuthorizationPolicy", "spec.rules[0].when[1]", "key", "request.headers[bad header]"},
	{"AuthorizationPolicy", "spec.rules[0].when[1]", "key", "request.headers[:authority]"},
	{"AuthorizationPolicy", "spec.rules[0].when[1]", "key", "request.headers[x][y]"},
	{"AuthorizationPolicy", "spec.rules[0]", "from", "[{source: {namespaces: [a], serviceAccounts: [a/b]}}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "from", "[{source: {principals: [a], notServiceAccounts: [a/b]}}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "from", "[{source: {ipBlocks: [10.0.0.0/8]}}, {source: {remoteIpBlocks: [10.0.0.0/8]}}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "to", "[{operation: {methods: [GET]}}, {operation: {paths: [/a]}}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: source.namespace, values: [a]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: source.principal, values: [a]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: source.serviceAccount, values: [a/b]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: destination.ip, values: [10.0.0.1]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: \"experimental.envoy.filters.network.a[b]\", values: [c]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: \"request.auth.claims[a]\", values: [\"\"]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: \"request.headers[x]\", values: [\"\"]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: destination.port, values: [\"0\"]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: connection.sni, notValues: [\"*.example.com\"]}]"},
	{"AuthorizationPolicy", "spec.rules[0]", "when", "[{key: remote.ip, values: [\"\"]}]"},
	{"RequestAuthentication", "spec", "targetRef", "{kind: Gateway, group: gateway.networking.k8s.io, name: gw}"},
	{"RequestAuthentication", "spec", "targetRefs", "[{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]"},
	{"RequestAuthentication", "spec", "targetRefs", "[{kind: Service, group: \"\", name: svc}]"},
	{"RequestAuthentication", "spec", "selector", "{}"},
	{"RequestAuthentication", "spec", "selector", "{matchLabels: {\"bad key!\": x}}"},
	{"RequestAuthentication", "spec", "jwtRules", "[{}]"},
	{"RequestAuthentication", "spec", "jwtRules", "[{issuer: a}, {issuer: a}]"},
	{"RequestAuthentication", "spec", "jwtRules", "[{jwksUri: \"https://issuer.example.com/jwks\"}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "jwks", "'{\"keys\":[]}'"},
	{"RequestAuthentication", "spec.jwtRules[0]", "audiences", "[\"\"]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "audiences", "[]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromHeaders", "[{name: \"\"}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromHeaders", "[{prefix: x}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromHeaders", "[{name: \"bad header\"}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromHeaders", "[{name: \":path\"}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromHeaders", "[{name: x, bogus: y}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromParams", "[\"\"]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromCookies", "[\"\"]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "fromCookies", "[\"bad cookie\"]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputClaimToHeaders", "[{header: \"bad header\", claim: a}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputClaimToHeaders", "[{header: \":path\", claim: a}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputClaimToHeaders", "[{header: x}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputClaimToHeaders", "[{claim: x}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputClaimToHeaders", "[{header: x-a, claim: a.b}]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "outputPayloadToHeader", "\"bad header\""},
	{"RequestAuthentication", "spec.jwtRules[0]", "spaceDelimitedClaims", "[scope]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "spaceDelimitedClaims", "[\"\"]"},
	{"RequestAuthentication", "spec.jwtRules[0]", "timeout", "0s"},
	{"RequestAuthentication", "spec.jwtRules[0]", "bogus", "x"},
	{"Telemetry", "spec", "metrics", "[{providers: [{name: prometheus}]}]"},
	{"Telemetry", "spec", "accessLogging", "[{providers: [{name: envoy}]}]"},
	{"Telemetry", "spec", "accessLogging", "[{filter: {expression: \"response.code >= 400\"}}]"},
	{"Telemetry", "spec", "targetRef", "{kind: Gateway, group: gateway.networking.k8s.io, name: gw}"},
	{"Telemetry", "spec", "targetRefs", "[{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]"},
	{"Telemetry", "spec", "selector", "{}"},
	{"Telemetry", "spec", "selector", "{matchLabels: {\"bad key!\": x}}"},
	{"Telemetry", "spec", "tracing", "[{}]"},
	{"Telemetry", "spec", "tracing", "[{}, {}]"},
	{"Telemetry", "spec", "tracing", "[{providers: [{name: otel}]}, {match: {mode: CLIENT}, disableSpanReporting: true}]"},
	{"Telemetry", "spec.tracing[0]", "providers", "[{name: a}, {name: b}]"},
	{"Telemetry", "spec.tracing[0]", "providers", "[{}]"},
	{"Telemetry", "spec.tracing[0]", "match", "{mode: CLIENT}"},
	{"Telemetry", "spec.tracing[0]", "match", "{mode: SERVER}"},
	{"Telemetry", "spec.tracing[0]", "match", "{mode: BOGUS}"},
	{"Telemetry", "spec.tracing[0]", "match", "{}"},
	{"Telemetry", "spec.tracing[0]", "useRequestIdForTraceSampling", "true"},
	{"Telemetry", "spec.tracing[0]", "enableIstioTags", "false"},
	{"Telemetry", "spec.tracing[0]", "randomSamplingPercentage", "0.0001"},
	{"Telemetry", "spec.tracing[0]", "bogus", "1"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{}"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{literal: {}}"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{literal: {value: \"\"}}"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{literal: {value: a}, header: {name: b}}"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{header: {name: \"bad header\"}}"},
	{"Telemetry", "spec.tracing[0].customTags", "x", "{environment: {name: \"\"}}"},
	{"Telemetry", "spec.tracing[0].customTags", "bad key!", "{literal: {value: a}}"},
	{"ServiceEntry", "metadata", "name", "Bad_Name"},
	{"Gateway", "metadata", "name", "a.b"},
	{"Gateway", "metadata", "namespace", "Bad_NS"},
}

// policyGroup reports whether a seed is a security.istio.io or
// telemetry.istio.io resource.
func policyGroup(seed map[string]any) bool {
	v, _ := seed["apiVersion"].(string)
	return strings.HasPrefix(v, "security.istio.io/") || strings.HasPrefix(v, "telemetry.istio.io/")
}

// generated returns the corpus.
func generated() ([]sample, error) {
	var out []sample
	add := func(origin string, doc any) error {
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		out = append(out, sample{origin: origin, data: b})
		return nil
	}
	for _, s := range seeds {
		var seed map[string]any
		if err := yaml.Unmarshal([]byte(s), &seed); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		kind := seed["kind"].(string)
		name := seed["metadata"].(map[string]any)["name"].(string)
		if err := add(kind+" "+name+" seed", seed); err != nil {
			return nil, err
		}
		var leaves, objects []string
		paths(seed, "", &leaves, &objects)
		for _, p := range leaves {
			if p == "apiVersion" || p == "kind" {
				continue
			}
			old := get(seed, p)
			var values []any
			switch old.(type) {
			case string:
				for _, v := range stringValues {
					values = append(values, v)
				}
				for _, v := range numberValues[:4] {
					values = append(values, v)
				}
				if policyGroup(seed) {
					for _, v := range policyValues {
						values = append(values, v)
					}
				}
			case float64:
				for _, v := range numberValues {
					values = append(values, v)
				}
				values = append(values, "1", "bad")
			case bool:
				values = append(values, !old.(bool), "true")
			}
			for _, v := range values {
				m := clone(seed)
				set(m, p, v)
				if err := add(fmt.Sprintf("%s %s: %s = %s", kind, name, p, show(v)), m); err != nil {
					return nil, err
				}
			}
		}
		// Remove each field, empty each list and object.
		for _, p := range append(slices.Clone(leaves), objects...) {
			if p == "apiVersion" || p == "kind" || p == "metadata" || p == "metadata.name" {
				continue
			}
			m := clone(seed)
			del(m, p)
			if err := add(fmt.Sprintf("%s %s: %s removed", kind, name, p), m); err != nil {
				return nil, err
			}
			switch get(seed, p).(type) {
			case []any:
				m := clone(seed)
				set(m, p, []any{})
				_ = add(fmt.Sprintf("%s %s: %s = []", kind, name, p), m)
				m = clone(seed)
				l := get(m, p).([]any)
				set(m, p, append(l, l[0]))
				_ = add(fmt.Sprintf("%s %s: %s first item repeated", kind, name, p), m)
			case map[string]any:
				m := clone(seed)
				set(m, p, map[string]any{})
				_ = add(fmt.Sprintf("%s %s: %s = {}", kind, name, p), m)
			}
		}
		for _, a := range additions {
			if a.kind != kind || get(seed, a.path) == nil {
				continue
			}
			var v any
			if err := yaml.Unmarshal([]byte(a.value), &v); err != nil {
				return nil, fmt.Errorf("addition %s: %w", a.value, err)
			}
			m := clone(seed)
			set(m, a.path+"."+a.key, v)
			if err := add(fmt.Sprintf("%s %s: %s.%s = %s", kind, name, a.path, a.key, a.value), m); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}

// paths lists the paths of the leaves and of the objects and lists
// under v, written "spec.http[0].match[1].uri.prefix"; a map key with a
// dot or bracket is written as it is, so set and get split only on
// the dots and brackets of the seeds' own structure.
func paths(v any, p string, leaves, objects *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if p != "" {
			*objects = append(*objects, p)
		}
		for _, k := range sortedKeys(v) {
			paths(v[k], join(p, k), leaves, objects)
		}
	case []any:
		*objects = append(*objects, p)
		for i, e := range v {
			paths(e, p+"["+strconv.Itoa(i)+"]", leaves, objects)
		}
	default:
		*leaves = append(*leaves, p)
	}
}

func join(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// steps splits a path into map keys (string) and list indexes (int).
func steps(p string) []any {
	var out []any
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			out = append(out, name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			n, _ := strconv.Atoi(idx)
			out = append(out, n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

func get(v any, p string) any {
	for _, s := range steps(p) {
		switch s := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[s]
		case int:
			l, _ := v.([]any)
			if s >= len(l) {
				return nil
			}
			v = l[s]
		}
	}
	return v
}

// set replaces the value at p; the parent must exist.
func set(root any, p string, val any) {
	st := steps(p)
	parent := root
	for _, s := range st[:len(st)-1] {
		parent = get(parent, stepString(s))
	}
	switch s := st[len(st)-1].(type) {
	case string:
		parent.(map[string]any)[s] = val
	case int:
		parent.([]any)[s] = val
	}
}

// del removes the field at p, or the element of a list.
func del(root any, p string) {
	st := steps(p)
	pp := ""
	for _, s := range st[:len(st)-1] {
		pp += stepString(s)
	}
	parent := get(root, strings.TrimPrefix(pp, "."))
	switch s := st[len(st)-1].(type) {
	case string:
		delete(parent.(map[string]any), s)
	case int:
		l := parent.([]any)
		set(root, strings.TrimPrefix(pp, "."), slices.Delete(slices.Clone(l), s, s+1))
	}
}

func stepString(s any) string {
	if n, ok := s.(int); ok {
		return "[" + strconv.Itoa(n) + "]"
	}
	return "." + s.(string)
}

func clone(v any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
