package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// MeshConfig is the part of Istio's MeshConfig a gateway uses: the
// extension providers that Telemetry (tracing) and AuthorizationPolicy
// (CUSTOM action) name, and the default providers. istiod reads the same
// document from the `mesh` key of the istio ConfigMap in istio-system,
// mounted as a file (pilot-discovery --meshConfig); gwc build reads it
// from the file --mesh-config names, either that bare document or the
// whole ConfigMap. Fields not listed here configure the mesh's sidecars
// or istiod and are not read.
type MeshConfig struct {
	// ExtensionProviders in the order given; names are unique.
	ExtensionProviders []*ExtensionProvider
	// DefaultProviders are meshConfig.defaultProviders: the providers a
	// Telemetry uses when it names none.
	DefaultProviders struct {
		Tracing, Metrics, AccessLogging []string
	}
	// RootNamespace is meshConfig.rootNamespace (istio-system when
	// unset): a Telemetry there applies to every workload of the mesh.
	RootNamespace string

	src *meshSource // nil for the zero MeshConfig (no --mesh-config)
}

// ExtensionProvider is one entry of meshConfig.extensionProviders. Istio
// defines it as a oneof: Kind names the field that is set
// ("opentelemetry", "zipkin", "envoyExtAuthzHttp", ...) and Decode reads
// that field's value into the kind's own struct.
type ExtensionProvider struct {
	Name string
	Kind string
	// Service and Port are the provider's service and port, which every
	// kind that talks to a server has.
	Service string
	Port    int

	index int
	raw   json.RawMessage
	mesh  *MeshConfig
}

// providerKinds are the fields of Istio's MeshConfig.ExtensionProvider
// oneof (mesh/v1alpha1/config.proto).
var providerKinds = []string{
	"envoyExtAuthzHttp", "envoyExtAuthzGrpc", "zipkin", "lightstep", "datadog", "stackdriver",
	"opencensus", "skywalking", "opentelemetry", "prometheus", "envoyFileAccessLog",
	"envoyHttpAls", "envoyTcpAls", "envoyOtelAls", "sds",
}

// Provider returns the extension provider called name, or nil.
func (m *MeshConfig) Provider(name string) *ExtensionProvider {
	if m == nil {
		return nil
	}
	for _, p := range m.ExtensionProviders {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Decode reads the provider's own fields (the value of its Kind field)
// into v, as encoding/json does.
func (p *ExtensionProvider) Decode(v any) error {
	return json.Unmarshal(p.raw, v)
}

// Field is the path of a field of the provider, for PosOf and for the
// diagnostics: Field("port") is "extensionProviders[2].zipkin.port".
func (p *ExtensionProvider) Field(sub string) string {
	f := fmt.Sprintf("extensionProviders[%d]", p.index)
	if sub == "" {
		return f
	}
	if sub == "name" {
		return f + ".name"
	}
	return f + "." + p.Kind + "." + sub
}

// PosOf and ID make the mesh config a resource for diagnostics; a field
// path is as in the mesh document ("extensionProviders[0].zipkin.port").
func (m *MeshConfig) PosOf(path string) diag.Pos {
	if m == nil || m.src == nil {
		return diag.Pos{}
	}
	return m.src.posOf(path)
}

func (m *MeshConfig) ID() string { return "MeshConfig" }

// meshSource keeps the parsed document for positions.
type meshSource struct {
	file string
	root *yaml.Node
	// line and col shift positions of a document embedded in a
	// ConfigMap's data.mesh block scalar to the file's lines.
	line, col int
}

func (s *meshSource) posOf(path string) diag.Pos {
	n := s.root
	best := n
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '.' || r == '[' }) {
		if i, err := strconv.Atoi(strings.TrimSuffix(seg, "]")); err == nil && strings.HasSuffix(seg, "]") {
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				break
			}
			n = n.Content[i]
		} else {
			v := mapValue(n, seg)
			if v == nil {
				break
			}
			n = v
		}
		best = n
	}
	return diag.Pos{File: s.file, Line: best.Line + s.line, Col: best.Column + s.col}
}

// mapValue returns the value of key in the mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// LoadMeshConfig reads the mesh config file at path: Istio's MeshConfig
// YAML (the `mesh` key of the istio ConfigMap), or the ConfigMap itself.
// Problems are diagnostics with the file's positions; the MeshConfig is
// nil when there are errors.
func LoadMeshConfig(path string) (*MeshConfig, diag.List) {
	file := load.DisplayPath(path)
	m := &MeshConfig{RootNamespace: "istio-system"}
	var diags diag.List
	fail := func(pos diag.Pos, field, hint, format string, args ...any) {
		if pos.File == "" {
			pos = diag.Pos{File: file}
		}
		diags = append(diags, diag.Diagnostic{Pos: pos, Severity: diag.Error, Code: diag.CodeMeshConfig,
			Resource: "MeshConfig", Field: field, Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fail(diag.Pos{}, "", "name the file that holds the mesh config (the istio ConfigMap's data.mesh)",
			"reading the mesh config: %v", err)
		return nil, diags
	}
	src := &meshSource{file: file}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		fail(diag.Pos{}, "", "write the mesh config as YAML", "parsing the mesh config: %v", err)
		return nil, diags
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if k := mapValue(doc, "kind"); k != nil && k.Value == "ConfigMap" {
		// kubectl get configmap istio -n istio-system -o yaml: the mesh
		// config is the string data.mesh.
		mesh := mapValue(mapValue(doc, "data"), "mesh")
		if mesh == nil || mesh.Kind != yaml.ScalarNode {
			fail(diag.Pos{File: file, Line: k.Line, Col: k.Column}, "data.mesh",
				"give the istio ConfigMap, whose data.mesh holds the mesh config", "ConfigMap has no data.mesh string")
			return nil, diags
		}
		var inner yaml.Node
		if err := yaml.Unmarshal([]byte(mesh.Value), &inner); err != nil {
			fail(diag.Pos{File: file, Line: mesh.Line, Col: mesh.Column}, "data.mesh", "write data.mesh as YAML",
				"parsing data.mesh: %v", err)
			return nil, diags
		}
		src.line, src.col = blockShift(data, mesh)
		doc = &inner
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			doc = doc.Content[0]
		}
	}
	src.root = doc
	m.src = src
	if doc.Kind == 0 || (doc.Kind == yaml.ScalarNode && doc.Tag == "!!null") {
		return m, nil // an empty mesh config: Istio's defaults
	}
	if doc.Kind != yaml.MappingNode {
		fail(src.posOf(""), "", "write the mesh config as a mapping (extensionProviders:, defaultProviders:, ...)",
			"the mesh config is not a mapping")
		return nil, diags
	}
	if n := mapValue(doc, "rootNamespace"); n != nil && n.Value != "" {
		m.RootNamespace = n.Value
	}
	if dp := mapValue(doc, "defaultProviders"); dp != nil {
		for key, dst := range map[string]*[]string{"tracing": &m.DefaultProviders.Tracing,
			"metrics": &m.DefaultProviders.Metrics, "accessLogging": &m.DefaultProviders.AccessLogging} {
			if n := mapValue(dp, key); n != nil {
				if err := n.Decode(dst); err != nil {
					fail(src.posOf("defaultProviders."+key), "defaultProviders."+key, "list provider names",
						"defaultProviders.%s: %v", key, err)
				}
			}
		}
	}
	eps := mapValue(doc, "extensionProviders")
	if eps != nil && eps.Kind != yaml.SequenceNode {
		fail(src.posOf("extensionProviders"), "extensionProviders", "list the providers", "extensionProviders is not a list")
		eps = nil
	}
	seen := map[string]int{}
	for i, n := range items(eps) {
		field := fmt.Sprintf("extensionProviders[%d]", i)
		if n.Kind != yaml.MappingNode {
			fail(src.posOf(field), field, "write each provider as a mapping with a name and one kind", "provider is not a mapping")
			continue
		}
		p := &ExtensionProvider{index: i, mesh: m}
		var kinds []string
		unknown := false
		for j := 0; j+1 < len(n.Content); j += 2 {
			key := n.Content[j].Value
			switch {
			case key == "name":
				p.Name = n.Content[j+1].Value
			case slices.Contains(providerKinds, key):
				kinds = append(kinds, key)
			default:
				unknown = true
				fail(src.posOf(field+"."+key), field+"."+key,
					"one of: name, "+strings.Join(providerKinds, ", "), "unknown extension provider field %q", key)
			}
		}
		switch {
		case p.Name == "":
			fail(src.posOf(field), field+".name", "give the provider a name, which Telemetry and AuthorizationPolicy refer to",
				"extension provider has no name")
			continue
		case unknown:
			continue
		case len(kinds) > 1:
			fail(src.posOf(field+"."+kinds[1]), field+"."+kinds[1], "set exactly one of "+strings.Join(kinds, ", "),
				"extension provider %q sets %d provider kinds, want one", p.Name, len(kinds))
			continue
		case len(kinds) == 0:
			fail(src.posOf(field+".name"), field, "set exactly one of "+strings.Join(providerKinds, ", "),
				"extension provider %q sets %d provider kinds, want one", p.Name, len(kinds))
			continue
		}
		if prev, dup := seen[p.Name]; dup {
			fail(src.posOf(field+".name"), field+".name", "give each provider its own name",
				"extension provider %q is defined twice (first at extensionProviders[%d])", p.Name, prev)
			continue
		}
		seen[p.Name] = i
		p.Kind = kinds[0]
		body := mapValue(n, p.Kind)
		var v any
		if err := body.Decode(&v); err != nil {
			fail(src.posOf(p.Field("")), p.Field(""), "write the provider's fields as a mapping", "%v", err)
			continue
		}
		if v == nil {
			v = map[string]any{}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			fail(src.posOf(p.Field("")), p.Field(""), "use plain values: strings, numbers, booleans, lists and mappings", "%v", err)
			continue
		}
		p.raw = raw
		var common struct {
			Service string `json:"service"`
			Port    any    `json:"port"`
		}
		_ = json.Unmarshal(raw, &common)
		p.Service = common.Service
		switch port := common.Port.(type) {
		case nil:
		case float64:
			if port != float64(int(port)) || port < 1 || port > 65535 {
				fail(src.posOf(p.Field("port")), p.Field("port"), "write a port number from 1 to 65535", "port %v is not a port number", port)
				continue
			}
			p.Port = int(port)
		default:
			fail(src.posOf(p.Field("port")), p.Field("port"), "write a port number from 1 to 65535", "port %v is not a number", port)
			continue
		}
		m.ExtensionProviders = append(m.ExtensionProviders, p)
	}
	for key, names := range map[string][]string{"tracing": m.DefaultProviders.Tracing,
		"metrics": m.DefaultProviders.Metrics, "accessLogging": m.DefaultProviders.AccessLogging} {
		for i, name := range names {
			// Istio's default mesh config defines these three providers.
			if m.Provider(name) == nil && !slices.Contains([]string{"prometheus", "stackdriver", "envoy"}, name) {
				f := fmt.Sprintf("defaultProviders.%s[%d]", key, i)
				fail(src.posOf(f), f, "name one of extensionProviders", "default provider %q is not defined", name)
			}
		}
	}
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

// items returns the elements of a sequence node; none for nil.
func items(n *yaml.Node) []*yaml.Node {
	if n == nil {
		return nil
	}
	return n.Content
}

// blockShift returns how far the lines and columns of a document inside
// the block scalar n lie from the file's: the document's line 1 is the
// line after the "|" and its column 1 is that line's indentation.
func blockShift(data []byte, n *yaml.Node) (line, col int) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		return n.Line - 1, n.Column - 1 // a one-line string: close enough
	}
	lines := bytes.Split(data, []byte("\n"))
	for i := n.Line; i < len(lines); i++ { // lines[n.Line] is the line after the "|"
		if t := bytes.TrimLeft(lines[i], " "); len(t) > 0 {
			return n.Line, len(lines[i]) - len(t)
		}
	}
	return n.Line, 0
}
