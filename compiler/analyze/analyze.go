// Package analyze provides gwc vet's analyzers: the Istio validation rules
// the CUE schema cannot express, judged on each resource alone (Resource),
// and cross-resource checks modelled on istioctl analyze (Cross). Each
// finding carries a stable code from compiler/diag; several analyzers live
// in the compiler itself (gateway not found, host served by no server,
// destination port), which gwc vet runs too.
package analyze

import (
	"encoding/json"
	"errors"
	"slices"

	"cuelang.org/go/cue"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// Options configure the analyzers.
type Options struct {
	// CredentialsDir, when set, is the directory where each Gateway
	// credentialName NAME must exist as NAME/tls.crt and NAME/tls.key.
	CredentialsDir string
}

// Resource runs the per-resource rules on each resource: what Istio's
// admission webhook and istioctl validate check beyond the schema.
func Resource(resources []*load.Resource) diag.List {
	var r reporter
	for _, res := range resources {
		var all any
		if b := specJSON(res); b != nil && json.Unmarshal(b, &all) == nil {
			r.istioRules(res, all)
		}
		switch res.Kind {
		case "VirtualService":
			var spec any
			if b := specJSON(res); b == nil || json.Unmarshal(b, &spec) != nil {
				continue
			}
			r.virtualService(res, spec)
			r.regexes(res, spec)
			r.unreachable(res, spec)
		case "ServiceEntry", "DestinationRule":
			var spec any
			if b := specJSON(res); b == nil || json.Unmarshal(b, &spec) != nil {
				continue
			}
			if res.Kind == "ServiceEntry" {
				r.unique(res, spec, "ports", "number", "port number")
				r.unique(res, spec, "ports", "name", "port name")
			} else {
				r.unique(res, spec, "subsets", "name", "subset name")
			}
		case "Gateway":
			g := &gatewayRes{Resource: res}
			if jsonSpec(specJSON(res)).Decode(&g.Spec) != nil {
				continue
			}
			r.portNames(g)
			r.servers(g)
			r.serverTLS(g)
		}
	}
	return r.sorted()
}

// Cross runs the cross-resource analyzers over a whole input set.
func Cross(resources []*load.Resource, opts Options) diag.List {
	var r reporter
	set := newIndex(resources)
	r.destinationHosts(set)
	r.duplicateHosts(set)
	r.conflictingServers(set)
	r.caCertificates(resources)
	r.serviceEntryProtocols(resources)
	if opts.CredentialsDir != "" {
		r.credentials(set, opts.CredentialsDir)
	}
	return r.sorted()
}

type reporter struct{ diags diag.List }

func (r *reporter) report(sev diag.Severity, code string, res *load.Resource, path, hint, msg string) {
	r.diags = append(r.diags, diag.Diagnostic{Pos: res.PosOf(path), Severity: sev, Code: code,
		Resource: res.ID(), Field: path, Message: msg, Hint: hint})
}

func (r *reporter) sorted() diag.List {
	r.diags.Sort()
	return slices.Compact(r.diags)
}

// index holds the resources of one input set, decoded for the analyzers.
type index struct {
	gateways map[string]*gatewayRes // by namespace/name
	vss      []*vsRes
	ses      []*seRes
	drs      []*drRes
}

type gatewayRes struct {
	*load.Resource
	Spec struct {
		Servers []struct {
			Port struct {
				Number     int    `json:"number"`
				Protocol   string `json:"protocol"`
				Name       string `json:"name"`
				TargetPort int    `json:"targetPort"`
			} `json:"port"`
			Hosts []string `json:"hosts"`
			Bind  string   `json:"bind"`
			TLS   *struct {
				Mode            string   `json:"mode"`
				CredentialName  string   `json:"credentialName"`
				CredentialNames []string `json:"credentialNames"`
				ServerCert      string   `json:"serverCertificate"`
				PrivateKey      string   `json:"privateKey"`
				CACertificates  string   `json:"caCertificates"`
				CACrl           string   `json:"caCrl"`
				TLSCertificates []any    `json:"tlsCertificates"`
				HTTPSRedirect   bool     `json:"httpsRedirect"`
			} `json:"tls"`
		} `json:"servers"`
	}
}

type vsRes struct {
	*load.Resource
	Spec struct {
		Hosts    []string `json:"hosts"`
		Gateways []string `json:"gateways"`
		HTTP     []struct {
			Route []struct {
				Destination destination `json:"destination"`
			} `json:"route"`
			Mirror  *destination `json:"mirror"`
			Mirrors []struct {
				Destination destination `json:"destination"`
			} `json:"mirrors"`
		} `json:"http"`
	}
}

type destination struct {
	Host   string `json:"host"`
	Subset string `json:"subset"`
}

type seRes struct {
	*load.Resource
	Spec struct {
		Hosts []string `json:"hosts"`
	}
}

type drRes struct {
	*load.Resource
	Spec struct {
		Host    string `json:"host"`
		Subsets []struct {
			Name string `json:"name"`
		} `json:"subsets"`
	}
}

var specPath = cue.ParsePath("spec")

// specJSON returns the JSON of a resource's spec. Decoding JSON into Go
// values is several times cheaper than walking or decoding CUE values,
// which matters at a thousand resources.
func specJSON(res *load.Resource) []byte {
	b, err := res.SpecJSON()
	if err != nil {
		return nil
	}
	return b
}

// jsonSpec adapts JSON to the Decode calls below.
type jsonSpec []byte

func (j jsonSpec) Decode(v any) error {
	if j == nil {
		return errNoSpec
	}
	return json.Unmarshal(j, v)
}

var errNoSpec = errors.New("spec is not concrete")

func newIndex(resources []*load.Resource) *index {
	x := &index{gateways: map[string]*gatewayRes{}}
	for _, res := range resources {
		spec := jsonSpec(specJSON(res))
		switch res.Kind {
		case "Gateway":
			g := &gatewayRes{Resource: res}
			if spec.Decode(&g.Spec) == nil {
				x.gateways[res.Namespace+"/"+res.Name] = g
			}
		case "VirtualService":
			v := &vsRes{Resource: res}
			if spec.Decode(&v.Spec) == nil {
				x.vss = append(x.vss, v)
			}
		case "ServiceEntry":
			s := &seRes{Resource: res}
			if spec.Decode(&s.Spec) == nil {
				x.ses = append(x.ses, s)
			}
		case "DestinationRule":
			d := &drRes{Resource: res}
			if spec.Decode(&d.Spec) == nil {
				x.drs = append(x.drs, d)
			}
		}
	}
	slices.SortFunc(x.vss, func(a, b *vsRes) int { return load.CompareCreation(a.Resource, b.Resource) })
	return x
}
