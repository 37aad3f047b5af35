// Command oracle prints Istio's own verdict on the Istio resources gwc
// reads (networking.istio.io Gateway, VirtualService, DestinationRule,
// ServiceEntry; security.istio.io AuthorizationPolicy and
// RequestAuthentication; telemetry.istio.io Telemetry),
// one JSON line per YAML document, by running the checks a Kubernetes
// cluster with Istio applies to a kubectl apply: the API server's object
// metadata rules and the CRD's OpenAPI schema and CEL rules (Istio's
// crd-all.gen.yaml, through Istio's pkg/config/crd validator), then the
// validating webhook's decoding and pkg/config/validation rules, as
// pkg/webhooks/validation/server does.
//
// It lives in its own Go module so that gwc's module never depends on
// istio.io/istio; gwc's differential test (diff_test.go) compares it with
// gwc vet --resource-only.
//
//	oracle [-crds FILE] FILE...
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	istiocrd "istio.io/istio/pkg/config/crd"
	"istio.io/istio/pkg/config/schema/collection"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/log"
)

// Verdict is Istio's judgement of one document.
type Verdict struct {
	File string `json:"file"`
	Line int    `json:"line"` // first line of the document
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
	// Skipped is set for documents that are not among the kinds above
	// (Secrets, gwc's GatewayPlugin, PeerAuthentication, ...): no verdict.
	Skipped bool `json:"skipped,omitempty"`
	Valid   bool `json:"valid"`
	// Stage says which part of the cluster rejects it: "yaml", "apiserver"
	// (metadata, CRD schema, CEL) or "webhook" (pkg/config/validation).
	Stage    string   `json:"stage,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// kinds are the Istio resources gwc reads, by API group; the oracle
// judges only these.
var kinds = map[string]map[string]bool{
	"networking.istio.io": {"Gateway": true, "VirtualService": true, "DestinationRule": true, "ServiceEntry": true},
	"security.istio.io":   {"AuthorizationPolicy": true, "RequestAuthentication": true},
	"telemetry.istio.io":  {"Telemetry": true},
}

func main() {
	crds := flag.String("crds", "", "Istio's CRD `FILE` (default: crd-all.gen.yaml of the linked istio.io/istio in the module cache)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: oracle [-crds FILE] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*crds, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}

func run(crdFile string, files []string, out io.Writer) error {
	// Istio's validation logs through its own logger; keep stdout for verdicts.
	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"stderr"}
	opts.SetDefaultOutputLevel(log.DefaultScopeName, log.ErrorLevel)
	_ = log.Configure(opts)

	o, err := newOracle(crdFile)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, doc := range splitDocuments(data) {
			v := o.judge(doc.text)
			if v == nil {
				continue
			}
			v.File, v.Line = f, doc.line
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Oracle holds the validators built once.
type Oracle struct {
	schema  *istiocrd.Validator
	schemas collection.Schemas
}

func newOracle(crdFile string) (*Oracle, error) {
	if crdFile == "" {
		f, err := defaultCRDs()
		if err != nil {
			return nil, err
		}
		crdFile = f
	}
	v, err := istiocrd.NewValidatorFromFilesWithOptions([]string{crdFile}, istiocrd.WithoutCRDValidation())
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	v.SkipMissing = true
	// The schemas istiod's webhook serves (pilot/pkg/bootstrap/validation.go).
	return &Oracle{schema: v, schemas: collections.PilotGatewayAPI()}, nil
}

// defaultCRDs finds crd-all.gen.yaml in the module cache copy of the
// istio.io/istio this binary links.
func defaultCRDs() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", fmt.Errorf("no build information: pass -crds")
	}
	version := ""
	for _, d := range bi.Deps {
		if d.Path == "istio.io/istio" {
			version = d.Version
		}
	}
	if version == "" {
		return "", fmt.Errorf("istio.io/istio not in the build information: pass -crds")
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w: pass -crds", err)
	}
	f := filepath.Join(strings.TrimSpace(string(cache)), "istio.io", "istio@"+version, "manifests", "charts", "base", "files", "crd-all.gen.yaml")
	if _, err := os.Stat(f); err != nil {
		return "", fmt.Errorf("%w: run go mod download in the oracle module, or pass -crds", err)
	}
	return f, nil
}

// judge returns the verdict on one YAML document, nil for an empty one.
func (o *Oracle) judge(doc []byte) *Verdict {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return &Verdict{Stage: "yaml", Errors: []string{err.Error()}}
	}
	// The API server's JSON decoding: integers become int64, which the
	// CRD's CEL rules insist on.
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return &Verdict{Stage: "yaml", Errors: []string{err.Error()}}
	}
	if len(obj) == 0 {
		return nil
	}
	un := &unstructured.Unstructured{Object: obj}
	gvk := un.GroupVersionKind()
	v := &Verdict{Kind: gvk.Kind, Name: un.GetName()}
	if !kinds[gvk.Group][gvk.Kind] {
		v.Skipped = true
		return v
	}
	if m, _ := obj["metadata"].(map[string]any); m != nil && (m["namespace"] == nil || m["namespace"] == "") {
		// kubectl apply puts it in the current namespace.
		un.SetNamespace("default")
	}

	// The API server: object metadata (names are DNS subdomains for
	// custom resources), then the CRD's schema and CEL rules.
	meta, err := metaOf(un)
	if err != nil {
		return v.reject("apiserver", err.Error())
	}
	if errs := apimachineryvalidation.ValidateObjectMeta(meta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata")); len(errs) > 0 {
		return v.reject("apiserver", errs.ToAggregate().Error())
	}
	if err := o.schema.ValidateCustomResource(un); err != nil {
		return v.reject("apiserver", err.Error())
	}

	// The webhook: decode into Istio's types, then pkg/config/validation.
	raw, err := json.Marshal(un.Object)
	if err != nil {
		return v.reject("webhook", err.Error())
	}
	var ik crd.IstioKind
	if err := json.Unmarshal(raw, &ik); err != nil {
		return v.reject("webhook", "cannot decode configuration: "+err.Error())
	}
	s, ok := o.schemas.FindByGroupKind(resource.FromKubernetesGVK(&gvk))
	if !ok {
		return v.reject("webhook", "unrecognized type "+gvk.String())
	}
	cfg, err := crd.ConvertObject(s, &ik, "cluster.local")
	if err != nil {
		return v.reject("webhook", "error decoding configuration: "+err.Error())
	}
	warnings, err := s.ValidateConfig(*cfg)
	v.Warnings = split(warnings)
	if err != nil {
		v.Stage, v.Errors = "webhook", split(err)
		return v
	}
	v.Valid = true
	return v
}

func (v *Verdict) reject(stage, msg string) *Verdict {
	v.Stage, v.Errors = stage, []string{msg}
	return v
}

// split lists the errors of a multierror, one string each.
func split(err error) []string {
	if err == nil {
		return nil
	}
	if u, ok := err.(interface{ WrappedErrors() []error }); ok {
		var out []string
		for _, e := range u.WrappedErrors() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

type document struct {
	line int
	text []byte
}

// splitDocuments cuts a YAML stream at its "---" lines, keeping the line
// each document starts on so that verdicts can be matched with gwc's.
func splitDocuments(data []byte) []document {
	var docs []document
	start, line := 1, 1
	var cur bytes.Buffer
	for _, l := range bytes.SplitAfter(data, []byte("\n")) {
		if t := bytes.TrimRight(l, " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, document{start, bytes.Clone(cur.Bytes())})
			cur.Reset()
			start = line + 1
		} else {
			cur.Write(l)
		}
		line++
	}
	return append(docs, document{start, cur.Bytes()})
}

// metaOf decodes the document's metadata as the API server does.
func metaOf(un *unstructured.Unstructured) (*metav1.ObjectMeta, error) {
	m, _ := un.Object["metadata"].(map[string]any)
	meta := &metav1.ObjectMeta{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, meta); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return meta, nil
}
