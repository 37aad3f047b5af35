package schema

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/encoding/yaml"
)

// documents decodes every document of a YAML stream.
func documents(t *testing.T, ctx *cue.Context, name string, src []byte) []cue.Value {
	t.Helper()
	dec := yaml.NewDecoder(name, bytes.NewReader(src))
	var out []cue.Value
	for {
		expr, err := dec.Extract()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
		v := ctx.BuildExpr(expr)
		if err := v.Err(); err != nil {
			t.Fatalf("building %s: %v", name, err)
		}
		out = append(out, v)
	}
}

func validate(schema cue.Value, def string, doc cue.Value) error {
	return schema.LookupPath(cue.MakePath(cue.Def(def))).Unify(doc).Validate(cue.Concrete(true))
}

func TestValidDocuments(t *testing.T) {
	ctx := cuecontext.New()
	s, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, doc := range documents(t, ctx, "valid.yaml", src) {
		kind, err := doc.LookupPath(cue.ParsePath("kind")).String()
		if err != nil {
			t.Fatalf("document at %v has no kind", doc.Pos())
		}
		kinds[kind]++
		for _, def := range []string{"Resource", kind} {
			if err := validate(s, def, doc); err != nil {
				t.Errorf("%s at %v against #%s: %v", kind, doc.Pos(), def, cueerrors.Details(err, nil))
			}
		}
	}
	for _, k := range Kinds {
		if kinds[k] == 0 {
			t.Errorf("testdata/valid.yaml has no %s", k)
		}
	}
}

const (
	gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`
	virtualService = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: vs, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - match:
    - uri: {prefix: /}
    route:
    - destination: {host: web, port: {number: 8080}}
      weight: 100
    timeout: 5s
`
	serviceEntry = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [api.example.org]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
`
	destinationRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr}
spec:
  host: web
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
  subsets: [{name: v1, labels: {version: v1}}]
`
)

const telemetry = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: tracing, namespace: istio-system}
spec:
  tracing:
  - randomSamplingPercentage: 10
    customTags:
      team: {literal: {value: shop}}
`

func TestBaseDocumentsAreValid(t *testing.T) {
	ctx := cuecontext.New()
	s, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{gateway, virtualService, serviceEntry, destinationRule, telemetry} {
		for _, doc := range documents(t, ctx, "base.yaml", []byte(src)) {
			if err := validate(s, "Resource", doc); err != nil {
				t.Errorf("%s: %v", src, err)
			}
		}
	}
}

func TestInvalidDocuments(t *testing.T) {
	tests := []struct {
		name     string
		base     string
		old, new string // the edit that breaks base
		path     string // where the error must be, as CUE writes paths
		msg      string // part of the error message
	}{
		{"unknown field", gateway, "hosts:", "hots:", "spec.servers.0.hots", "field not allowed"},
		{"unknown top-level field", gateway, "spec:", "sepc:", "sepc", "field not allowed"},
		{"unknown spec field", destinationRule, "  host: web", "  host: web\n  hosts: [a]", "spec.hosts", "field not allowed"},
		{"wrong type", gateway, "number: 80", `number: "80"`, "spec.servers.0.port.number", "mismatched types string and int"},
		{"wrong type struct", virtualService, "timeout: 5s", "timeout: {seconds: 5}", "spec.http.0.timeout", "mismatched types struct and string"},
		{"bad enum", destinationRule, "ROUND_ROBIN", "ROUNDROBIN", "spec.trafficPolicy.loadBalancer.simple", "conflicting values"},
		{"bad protocol", gateway, "protocol: HTTP", "protocol: HTTPX", "spec.servers.0.port.protocol", "out of bound"},
		{"port zero", gateway, "number: 80", "number: 0", "spec.servers.0.port.number", "out of bound >=1"},
		{"port too big", serviceEntry, "number: 443", "number: 65536", "spec.ports.0.number", "out of bound <=65535"},
		{"destination port too big", virtualService, "number: 8080", "number: 100000", "spec.http.0.route.0.destination.port.number", "out of bound"},
		{"negative weight", virtualService, "weight: 100", "weight: -1", "spec.http.0.route.0.weight", "out of bound >=0"},
		{"percentage over 100", virtualService, "timeout: 5s", "mirrorPercentage: {value: 100.5}", "spec.http.0.mirrorPercentage.value", "out of bound <=100"},
		{"direct response status", virtualService, "    route:\n    - destination: {host: web, port: {number: 8080}}\n      weight: 100\n", "    directResponse: {status: 700}\n", "spec.http.0.directResponse.status", "out of bound <=600"},
		{"missing port name", gateway, "name: http, ", "", "spec.servers.0.port.name", "field is required but not present"},
		{"missing hosts", gateway, `    hosts: ["*"]` + "\n", "", "spec.servers.0.hosts", "field is required but not present"},
		{"missing destination host", virtualService, "{host: web, port", "{port", "spec.http.0.route.0.destination.host", "field is required but not present"},
		{"missing DR host", destinationRule, "  host: web\n", "", "spec.host", "field is required but not present"},
		{"missing SE hosts", serviceEntry, "  hosts: [api.example.org]\n", "", "spec.hosts", "field is required but not present"},
		{"missing name", serviceEntry, "metadata: {name: se}", "metadata: {labels: {a: b}}", "metadata.name", "field is required but not present"},
		{"missing spec", destinationRule, destinationRule[strings.Index(destinationRule, "spec:"):], "", "spec", "field is required but not present"},
		{"empty servers", gateway, gateway[strings.Index(gateway, "  servers:"):], "  servers: []\n", "spec.servers", "incompatible list lengths"},
		{"empty hosts", gateway, `hosts: ["*"]`, "hosts: []", "spec.servers.0.hosts", "incompatible list lengths"},
		{"bad duration", virtualService, "timeout: 5s", "timeout: 5 seconds", "spec.http.0.timeout", "out of bound"},
		{"bad name", destinationRule, "name: dr", "name: DR_1", "metadata.name", "out of bound"},
		{"dotted gateway name", gateway, "name: gw", "name: gw.example", "metadata.name", "out of bound"},
		{"bad namespace", virtualService, "namespace: shop", "namespace: shop.example", "metadata.namespace", "out of bound"},
		{"bad apiVersion", gateway, "networking.istio.io/v1", "networking.istio.io/v2", "apiVersion", "conflicting values"},
		{"telemetry sampling over 100", telemetry, "randomSamplingPercentage: 10", "randomSamplingPercentage: 100.5", "spec.tracing.0.randomSamplingPercentage", "out of bound <=100"},
		{"telemetry with a networking apiVersion", telemetry, "telemetry.istio.io/v1", "networking.istio.io/v1", "apiVersion", "conflicting values"},
		{"telemetry tag of two kinds", telemetry, "{literal: {value: shop}}", "{literal: {value: shop}, header: {name: x}}", "spec.tracing.0.customTags.team", ""},
		{"unknown kind", gateway, "kind: Gateway", "kind: Gatway", "kind", "conflicting values"},
		{"two string matches", virtualService, "uri: {prefix: /}", "uri: {prefix: /, exact: /a}", "spec.http.0.match.0.uri.prefix", "only one of exact, prefix or regex may be set"},
		{"route and redirect", virtualService, "    timeout: 5s", "    redirect: {uri: /b}", "spec.http.0.redirect", "only one of route, redirect or directResponse may be set"},
		{"two load balancers", destinationRule, "{simple: ROUND_ROBIN}", "{simple: ROUND_ROBIN, consistentHash: {useSourceIp: true}}", "spec.trafficPolicy.loadBalancer.consistentHash", "only one of simple or consistentHash may be set"},
		{"wildcard service entry host", serviceEntry, "[api.example.org]", `["*"]`, "spec.hosts.0", `out of bound !="*"`},
		{"string label value", destinationRule, "version: v1", "version: 1", "spec.subsets.0.labels.version", "mismatched types int and string"},
		{"short gateway host", gateway, `hosts: ["*"]`, `hosts: ["shop"]`, "spec.servers.0.hosts.0", "out of bound"},
		{"partial wildcard gateway host", gateway, `hosts: ["*"]`, `hosts: ["foo*.example.com"]`, "spec.servers.0.hosts.0", "out of bound"},
		{"bad gateway host namespace", gateway, `hosts: ["*"]`, `hosts: ["Prod/a.example.com"]`, "spec.servers.0.hosts.0", "out of bound"},
		{"bad virtual service host", virtualService, "hosts: [", `hosts: ["a_b.example.com", `, "spec.hosts.0", "out of bound"},
		{"NONE with endpoints", serviceEntry, "resolution: DNS", "resolution: NONE\n  endpoints: [{address: 10.0.0.1}]", "spec.endpoints", "resolution NONE takes no endpoints"},
		{"DNS_ROUND_ROBIN with two endpoints", serviceEntry, "resolution: DNS", "resolution: DNS_ROUND_ROBIN\n  endpoints: [{address: a.example.org}, {address: b.example.org}]", "spec.endpoints", "MaxItems"},
		{"bad service port name", serviceEntry, "name: https", "name: HTTPS_1", "spec.ports.0.name", "out of bound"},
		{"bad subset name", destinationRule, "name: v1", "name: V_1", "spec.subsets.0.name", "out of bound"},
		{"wildcard destination", virtualService, "{host: web, port", `{host: "*", port`, "spec.http.0.route.0.destination.host", "out of bound"},
		{"credential oneof", gateway, "    hosts:", "    tls: {mode: SIMPLE, credentialName: a, credentialNames: [b]}\n    hosts:", "spec.servers.0.tls.credentialNames", "only one of credentialName, credentialNames or tlsCertificates may be set"},
	}
	ctx := cuecontext.New()
	s, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.base, tt.old) {
				t.Fatalf("test is broken: %q not in the base document", tt.old)
			}
			src := strings.Replace(tt.base, tt.old, tt.new, 1)
			docs := documents(t, ctx, "bad.yaml", []byte(src))
			if len(docs) != 1 {
				t.Fatalf("got %d documents", len(docs))
			}
			err := validate(s, "Resource", docs[0])
			if err == nil {
				t.Fatalf("no error for:\n%s", src)
			}
			var got []string
			for _, e := range cueerrors.Errors(err) {
				path := strings.TrimPrefix(strings.Join(e.Path(), "."), "#Resource.")
				got = append(got, path+": "+e.Error())
				if path == tt.path && strings.Contains(e.Error(), tt.msg) {
					return
				}
			}
			t.Errorf("want an error at %s containing %q; got:\n%s", tt.path, tt.msg, strings.Join(got, "\n"))
		})
	}
}

func TestBuildInTwoContexts(t *testing.T) {
	for range 2 {
		ctx := cuecontext.New()
		v, err := Build(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v.Context() != ctx {
			t.Error("schema built in another context")
		}
		for _, k := range Kinds {
			if !v.LookupPath(cue.MakePath(cue.Def(k))).Exists() {
				t.Errorf("schema has no #%s", k)
			}
		}
	}
}

// The README's example: every mistake in testdata/invalid.yaml is found.
func TestInvalidExample(t *testing.T) {
	ctx := cuecontext.New()
	s, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, ctx, "invalid.yaml", src)
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want 1", len(docs))
	}
	got := map[string]bool{}
	for _, e := range cueerrors.Errors(validate(s, "Resource", docs[0])) {
		got[strings.TrimPrefix(strings.Join(e.Path(), "."), "#Resource.")] = true
	}
	for _, want := range []string{"spec.servers.0.port.number", "spec.servers.0.port.protocol", "spec.servers.0.hots.0", "spec.servers.0.tls.mode"} {
		if !got[want] {
			t.Errorf("no error at %s; got errors at %v", want, got)
		}
	}
}

// TestSource: the one-file schema compiles on its own and judges
// documents as the package does.
func TestSource(t *testing.T) {
	src, err := Source()
	if err != nil {
		t.Fatal(err)
	}
	ctx := cuecontext.New()
	one := ctx.CompileBytes(src, cue.Filename("istio.cue"))
	if err := one.Err(); err != nil {
		t.Fatalf("compiling Source: %v\n%s", err, src)
	}
	pkg, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"testdata/valid.yaml", "testdata/invalid.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(t, ctx, name, data) {
			want := validate(pkg, "Resource", doc)
			got := validate(one, "Resource", doc)
			if (want == nil) != (got == nil) {
				t.Errorf("%s document %d: package says %v, Source says %v", name, i, want, got)
			}
		}
	}
}
