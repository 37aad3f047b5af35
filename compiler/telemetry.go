package compiler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/ir"
	"github.com/gwc-dev/gwc/compiler/load"
)

// defaultSampling is Istio's randomSamplingPercentage when neither a
// Telemetry nor the proxy config sets one (meshConfig.defaultConfig.
// tracing.sampling defaults to 1).
const defaultSampling = 1.0

type telemetry struct {
	*load.Resource
	Spec telemetrySpec
}

type telemetrySpec struct {
	Selector *struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	TargetRef  *policyTarget   `json:"targetRef"`
	TargetRefs []policyTarget  `json:"targetRefs"`
	Tracing    []tracingConfig `json:"tracing"`
}

type policyTarget struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type tracingConfig struct {
	Match *struct {
		Mode string `json:"mode"`
	} `json:"match"`
	Providers []struct {
		Name string `json:"name"`
	} `json:"providers"`
	RandomSamplingPercentage *float64             `json:"randomSamplingPercentage"`
	DisableSpanReporting     *bool                `json:"disableSpanReporting"`
	CustomTags               map[string]customTag `json:"customTags"`
}

type customTag struct {
	Literal *struct {
		Value string `json:"value"`
	} `json:"literal"`
	Environment *tagSource `json:"environment"`
	Header      *tagSource `json:"header"`
}

type tagSource struct {
	Name         string `json:"name"`
	DefaultValue string `json:"defaultValue"`
}

// Telemetry fields gwc cannot honour: its metrics and access log are
// Istio's standard ones, set by the binary's flags.
func init() {
	unsupported["Telemetry"] = map[string]verdict{
		"spec.metrics": {diag.Error, "Telemetry metrics are not supported: gwc reports Istio's standard metrics, which Telemetry cannot change",
			"remove metrics; see docs/operations.md (Metrics)"},
		"spec.accessLogging": {diag.Error, "Telemetry accessLogging is not supported: gwc's access log is set by the binary's --access-log flags",
			"remove accessLogging and start the binary with --access-log (docs/operations.md)"},
		"spec.tracing[].useRequestIdForTraceSampling": {diag.Warning,
			"useRequestIdForTraceSampling has no effect: gwc makes every request's x-request-id itself, so the decision is random either way",
			"remove it"},
	}
}

// telemetryLevel orders Telemetries as Istio applies them: the mesh-wide
// one (root namespace, no selector), then the namespace's, then a
// workload's (selector or targetRef); a more specific one overrides.
func (c *compilation) telemetryLevel(t *telemetry) int {
	s := &t.Spec
	switch {
	case s.Selector != nil || s.TargetRef != nil || len(s.TargetRefs) > 0:
		return 2
	case t.Namespace == c.rootNamespace():
		return 0
	}
	return 1
}

func (c *compilation) rootNamespace() string {
	if c.mesh != nil {
		return c.mesh.RootNamespace
	}
	return "istio-system"
}

// appliesToGateway reports whether t selects the gateway being compiled,
// warning when it selects nothing of it.
func (c *compilation) appliesToGateway(t *telemetry, cfg *ir.Config) bool {
	s := &t.Spec
	if s.Selector != nil {
		for _, k := range slices.Sorted(maps.Keys(s.Selector.MatchLabels)) {
			v := s.Selector.MatchLabels[k]
			if !slices.ContainsFunc(cfg.Workload.Selector, func(l ir.Label) bool { return l.Key == k && l.Value == v }) {
				c.warnc(diag.CodeTelemetry, t, "spec.selector.matchLabels", "select the labels of the Gateways' spec.selector, e.g. istio: ingressgateway",
					"selector %s=%s matches none of the labels the Gateways select: this Telemetry does not apply to the gateway", k, v)
				return false
			}
		}
	}
	if s.Selector == nil && s.TargetRef == nil && len(s.TargetRefs) == 0 && t.Namespace != c.rootNamespace() &&
		!slices.ContainsFunc(cfg.Listeners, func(l ir.Listener) bool {
			return slices.ContainsFunc(l.Servers, func(o ir.Origin) bool { return strings.HasPrefix(o.Resource, t.Namespace+"/") })
		}) {
		c.warnc(diag.CodeTelemetry, t, "metadata.namespace", "put it in the namespace of the Gateways, or in "+c.rootNamespace()+" for the whole mesh",
			"a Telemetry without selector applies to the workloads of its namespace %s, where no compiled Gateway is: it does not apply to the gateway", t.Namespace)
		return false
	}
	refs := s.TargetRefs
	if s.TargetRef != nil {
		refs = append(refs, *s.TargetRef)
	}
	for i, ref := range refs {
		path := fmt.Sprintf("spec.targetRefs[%d]", i)
		if s.TargetRef != nil && i == len(refs)-1 {
			path = "spec.targetRef"
		}
		ns := cmp.Or(ref.Namespace, t.Namespace)
		if ref.Kind != "Gateway" || c.gateways[ns+"/"+ref.Name] == nil {
			c.warnc(diag.CodeTelemetry, t, path, "name one of the compiled Gateways (kind Gateway)",
				"targetRef %s %s/%s is none of the compiled Gateways: this Telemetry does not apply to the gateway", ref.Kind, ns, ref.Name)
			return false
		}
	}
	return true
}

// lowerTracing resolves the tracing of the Telemetries that apply to the
// gateway; nil when none enables it.
func (c *compilation) lowerTracing(cfg *ir.Config) *ir.Tracing {
	var levels [3]*telemetry
	for _, t := range c.telemetries {
		if !c.appliesToGateway(t, cfg) {
			continue
		}
		if len(t.Spec.Tracing) == 0 {
			continue
		}
		lvl := c.telemetryLevel(t)
		if prev := levels[lvl]; prev != nil {
			c.errorc(diag.CodeTelemetry, t, "spec.tracing", "keep one Telemetry per level (mesh, namespace, workload), or merge them",
				"Telemetry %s/%s sets tracing at the same level as %s/%s (%s): Istio picks the older one, which a build cannot know",
				t.Namespace, t.Name, prev.Namespace, prev.Name, prev.PosOf("spec.tracing"))
			continue
		}
		levels[lvl] = t
	}
	var (
		tr       ir.Tracing
		set      bool
		failed   bool
		provider *ExtensionProvider
		sampling = defaultSampling
		tags     = map[string]ir.CustomTag{}
	)
	for _, t := range levels {
		if t == nil {
			continue
		}
		tc, i := c.serverTracing(t)
		if tc == nil {
			continue
		}
		set = true
		path := fmt.Sprintf("spec.tracing[%d]", i)
		tr.Origin = ir.Origin{Pos: t.PosOf(path), Resource: t.Namespace + "/" + t.Name, Field: fmt.Sprintf("tracing[%d]", i)}
		if len(tc.Providers) > 1 {
			c.errorc(diag.CodeTelemetry, t, path+".providers[1]", "name one provider",
				"tracing names %d providers; Istio and gwc use one", len(tc.Providers))
		}
		if len(tc.Providers) > 0 {
			// Every level's provider is checked, so that all are reported.
			if p := c.tracingProvider(t, path+".providers[0].name", tc.Providers[0].Name); p != nil {
				provider = p
			} else {
				failed = true
			}
		}
		if tc.RandomSamplingPercentage != nil {
			sampling = *tc.RandomSamplingPercentage
		}
		if tc.DisableSpanReporting != nil {
			tr.DisableSpanReporting = *tc.DisableSpanReporting
		}
		for name, tag := range tc.CustomTags {
			ct := ir.CustomTag{Name: name}
			switch {
			case tag.Literal != nil:
				ct.Kind, ct.Value = "literal", tag.Literal.Value
			case tag.Header != nil:
				ct.Kind, ct.Value, ct.Default = "header", strings.ToLower(tag.Header.Name), tag.Header.DefaultValue
			case tag.Environment != nil:
				ct.Kind, ct.Value, ct.Default = "environment", tag.Environment.Name, tag.Environment.DefaultValue
			default:
				// An empty tag: Istio accepts it and istiod adds no tag.
				continue
			}
			tags[name] = ct
		}
	}
	if !set || failed {
		return nil
	}
	if provider == nil {
		if c.mesh != nil && len(c.mesh.DefaultProviders.Tracing) > 0 {
			name := c.mesh.DefaultProviders.Tracing[0]
			provider = c.mesh.Provider(name)
			if provider != nil && !tracingKind(provider.Kind) {
				c.errorc(diag.CodeTelemetry, c.mesh, "defaultProviders.tracing[0]",
					"make the default tracing provider an opentelemetry or zipkin provider",
					"default tracing provider %q is a %s provider; gwc traces with opentelemetry or zipkin", name, provider.Kind)
				return nil
			}
		}
		if provider == nil {
			t := levels[cmp.Or(slices.IndexFunc(levels[:], func(t *telemetry) bool { return t != nil }), 0)]
			// IST0101, a reference to the mesh config: gwc vet
			// --resource-only leaves it out, as Istio's webhook does.
			c.errorc(diag.CodeNotFound, t, "spec.tracing", "name an opentelemetry or zipkin provider of the mesh config in tracing[].providers, or set its defaultProviders.tracing (gwc build --mesh-config FILE)",
				"tracing has no provider: Istio would report no span")
			return nil
		}
	}
	tr.Provider, tr.Kind, tr.Service, tr.Port = provider.Name, provider.Kind, provider.Service, provider.Port
	c.warnProviderFields(provider)
	if provider.Kind == "opentelemetry" {
		var otel struct {
			HTTP *struct {
				Path string `json:"path"`
			} `json:"http"`
		}
		if err := provider.Decode(&otel); err == nil && otel.HTTP != nil {
			tr.HTTPPath = cmp.Or(otel.HTTP.Path, "/v1/traces")
			if !strings.HasPrefix(tr.HTTPPath, "/") {
				tr.HTTPPath = "/" + tr.HTTPPath
			}
		}
	} else {
		// Zipkin's collector speaks Zipkin's JSON, not OTLP: the exporter
		// takes its endpoint from OTEL_EXPORTER_OTLP_* alone.
		tr.Service, tr.Port = "", 0
	}
	tr.SamplingPercent = sampling
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		tr.CustomTags = append(tr.CustomTags, tags[name])
	}
	tr.Operations = traceOperations(cfg)
	return &tr
}

// providerFields are the fields of each tracing provider kind gwc uses;
// the others are reported, never dropped silently.
var providerFields = map[string][]string{
	"opentelemetry": {"service", "port", "http"},
	"zipkin":        {"service", "port"},
}

// warnProviderFields warns about the provider's fields gwc does not use.
func (c *compilation) warnProviderFields(p *ExtensionProvider) {
	var fields map[string]any
	if p.Decode(&fields) != nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch {
		case p.Kind == "zipkin" && (k == "service" || k == "port"):
			c.warnc(diag.CodeMeshConfig, c.mesh, p.Field(k), "send the spans to a collector that accepts OTLP (Jaeger and Zipkin-compatible collectors do): set OTEL_EXPORTER_OTLP_ENDPOINT on the binary",
				"the zipkin provider's %s is not used: gwc exports by OTLP, not in Zipkin's format, so the endpoint comes from OTEL_EXPORTER_OTLP_ENDPOINT", k)
		case p.Kind == "opentelemetry" && k == "http":
			if h, ok := fields[k].(map[string]any); ok {
				for _, hk := range slices.Sorted(maps.Keys(h)) {
					if hk != "path" {
						c.warnc(diag.CodeMeshConfig, c.mesh, p.Field("http."+hk), "set it with OTEL_EXPORTER_OTLP_HEADERS or OTEL_EXPORTER_OTLP_TIMEOUT on the binary",
							"http.%s of the opentelemetry provider is not used", hk)
					}
				}
			}
		case !slices.Contains(providerFields[p.Kind], k):
			c.warnc(diag.CodeMeshConfig, c.mesh, p.Field(k), "remove it, or set the exporter with the OTEL_EXPORTER_OTLP_* variables",
				"%s of the %s provider is not used by gwc", k, p.Kind)
		}
	}
}

// serverTracing returns the tracing entry of t that applies to the
// gateway's server spans and its index; nil when none does.
func (c *compilation) serverTracing(t *telemetry) (*tracingConfig, int) {
	var found *tracingConfig
	at := -1
	for i := range t.Spec.Tracing {
		tc := &t.Spec.Tracing[i]
		if tc.Match != nil && tc.Match.Mode == "CLIENT" {
			c.warnc(codeIgnored, t, fmt.Sprintf("spec.tracing[%d].match.mode", i), "use SERVER or CLIENT_AND_SERVER",
				"mode CLIENT selects the spans a workload makes as a client; the gateway's span of each request is its server span, so this entry is ignored")
			continue
		}
		if found != nil {
			c.errorc(diag.CodeTelemetry, t, fmt.Sprintf("spec.tracing[%d]", i), "keep one tracing entry for the server side",
				"two tracing entries apply to the gateway's spans (tracing[%d] and tracing[%d])", at, i)
			continue
		}
		found, at = tc, i
	}
	return found, at
}

func tracingKind(kind string) bool { return kind == "opentelemetry" || kind == "zipkin" }

// tracingProvider finds the provider a Telemetry names.
func (c *compilation) tracingProvider(t *telemetry, path, name string) *ExtensionProvider {
	p := c.mesh.Provider(name)
	if p == nil {
		hint := "define it in the mesh config's extensionProviders and pass the file to gwc build --mesh-config"
		if c.mesh != nil {
			var names []string
			for _, ep := range c.mesh.ExtensionProviders {
				if tracingKind(ep.Kind) {
					names = append(names, ep.Name)
				}
			}
			if len(names) > 0 {
				hint = "name one of the mesh config's tracing providers: " + strings.Join(names, ", ")
			}
		}
		// IST0101, as an undefined CUSTOM authorization provider: a
		// reference to the mesh config, which gwc vet --resource-only
		// does not resolve (Istio's webhook does not either).
		c.errorc(diag.CodeNotFound, t, path, hint, "provider %q is not defined", name)
		return nil
	}
	if !tracingKind(p.Kind) {
		c.errorc(diag.CodeTelemetry, t, path, "name an opentelemetry or zipkin provider; others ("+p.Kind+") are not supported",
			"provider %q is a %s provider; gwc traces with opentelemetry or zipkin", name, p.Kind)
		return nil
	}
	return p
}

// traceOperations names each route's span as istiod's route decorator
// does (pilot/pkg/networking/core/route: getRouteOperation): the one
// destination's "host:port" or, for several destinations or none, the
// VirtualService's name and the gateway port, followed by the path of the
// route's match (the exact path, the prefix with "*", the regex), "/*"
// without one. Like istiod's Envoy routes, gwc's are one per match.
func traceOperations(cfg *ir.Config) []ir.TraceOperation {
	var out []ir.TraceOperation
	for _, l := range cfg.Listeners {
		for _, vh := range l.VirtualHosts {
			for _, r := range vh.Routes {
				path := "/*"
				if len(r.Matches) > 0 {
					switch u := r.Matches[0].URI; u.Kind {
					case "exact", "regex":
						path = u.Value
					case "prefix":
						path = u.Value + "*"
					}
				}
				var op string
				if len(r.Destinations) == 1 {
					cl := cfg.Clusters[r.Destinations[0].Cluster]
					op = cl.Host + ":" + strconv.Itoa(cl.Port) + path
				} else {
					_, vsName, _ := strings.Cut(r.Origin.Resource, "/")
					op = vsName + ":" + strconv.Itoa(l.Port) + path
				}
				out = append(out, ir.TraceOperation{Port: l.Port, Route: r.Origin.String(), Operation: op})
			}
		}
	}
	slices.SortFunc(out, func(a, b ir.TraceOperation) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Route, b.Route))
	})
	return slices.CompactFunc(out, func(a, b ir.TraceOperation) bool { return a.Port == b.Port && a.Route == b.Route })
}
