package codegen

import (
	"crypto/tls"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/gwc-dev/gwc/codegen/mph"
	"github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/extauthz"
	"github.com/gwc-dev/gwc/runtime/hosttable"
	"github.com/gwc-dev/gwc/runtime/jwt"
	"github.com/gwc-dev/gwc/runtime/kubernetes"
	"github.com/gwc-dev/gwc/runtime/plugin/host"
	"github.com/gwc-dev/gwc/runtime/tracing"
)

// The printer writes the lowered runtime.Config as the Go expression
// config.go holds: one walk over the value, so the literal holds exactly
// what RuntimeConfig built (a field the printer cannot write is an error,
// never a silent omission). Rules, the same for every type:
//
//   - a struct is written with its non-zero exported fields, in
//     declaration order; on one line when all of them are short scalars,
//     else one field a line;
//   - strings go through strconv.Quote, comments through comment, so no
//     configuration string can become code;
//   - durations are constant expressions such as 10 * time.Second;
//   - enumerations name their constant (gwcrt.MatchPrefix);
//   - every route, TLS server and connection route has its origin (its
//     ID) as a comment above it, every listener and cluster the Gateway
//     servers or ServiceEntry and DestinationRule it came from, every
//     destination the name of its cluster.
//
// go/format lays the result out; the virtual hosts, nearly all of a large
// configuration, are printed and formatted each on its own (hosts.go).

// Import paths and the names the generated source uses for them.
const (
	runtimePath   = "github.com/gwc-dev/gwc/runtime"
	hosttablePath = "github.com/gwc-dev/gwc/runtime/hosttable"
	hostPath      = "github.com/gwc-dev/gwc/runtime/plugin/host"
	kubePath      = "github.com/gwc-dev/gwc/runtime/kubernetes"
	tracingPath   = "github.com/gwc-dev/gwc/runtime/tracing"
	jwtPath       = "github.com/gwc-dev/gwc/runtime/jwt"
	extauthzPath  = "github.com/gwc-dev/gwc/runtime/extauthz"
)

var qualifiers = map[string]string{runtimePath: "gwcrt", hosttablePath: "hosttable", hostPath: "host", kubePath: "kubernetes", tracingPath: "tracing", jwtPath: "jwt", extauthzPath: "extauthz"}

// enumNames names the constants of the runtime's enumerations, by value.
var enumNames = map[reflect.Type][]string{
	reflect.TypeFor[runtime.MatchKind](): {"MatchAny", "MatchExact", "MatchPrefix", "MatchRegex"},
	reflect.TypeFor[runtime.LBKind]():    {"LBLeastRequest", "LBRoundRobin", "LBRandom", "LBRingHash", "LBMaglev"},
	reflect.TypeFor[runtime.TLSMode]():   {"", "TLSSimple", "TLSMutual", "TLSOptionalMutual"},
	reflect.TypeFor[runtime.AuthzAttr](): {"AttrSourceIP", "AttrRemoteIP", "AttrSourcePrincipal", "AttrSourceNamespace",
		"AttrRequestPrincipal", "AttrRequestAudiences", "AttrRequestPresenter", "AttrRequestClaim",
		"AttrRequestHeader", "AttrHost", "AttrMethod", "AttrPath", "AttrPort", "AttrSNI"},
	reflect.TypeFor[runtime.AuthzMatchKind](): {"AuthzExact", "AuthzPrefix", "AuthzSuffix", "AuthzPresent", "AuthzRegex"},
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	routerType   = reflect.TypeFor[hosttable.Router]()
	byteType     = reflect.TypeFor[byte]()
)

// inlineWidth bounds a struct written on one line.
const inlineWidth = 100

// printer writes Go source into b.
type printer struct {
	b []byte
	// imports are the paths the written source uses ("time" among them).
	imports map[string]bool
	notes   *notes
	cfg     *runtime.Config
	// hosts, when set, takes each virtual host's element and writes a
	// placeholder in its stead (hosts.go); nil writes it in place.
	hosts *hostSlots
	err   error
}

func newPrinter(cfg *runtime.Config, n *notes) *printer {
	return &printer{imports: map[string]bool{runtimePath: true}, notes: n, cfg: cfg}
}

func (p *printer) write(s string) { p.b = append(p.b, s...) }

func (p *printer) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("printing the configuration: "+format, args...)
	}
}

// commentLines writes each line of a note as a // comment, made safe by
// comment: a line break in a configuration string stays inside its line.
func (p *printer) commentLines(note []string) {
	for _, line := range note {
		p.write("// ")
		p.write(comment(line))
		p.write("\n")
	}
}

// typeName names t in the generated source.
func (p *printer) typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "[]" + p.typeName(t.Elem())
	case reflect.Pointer:
		return "*" + p.typeName(t.Elem())
	case reflect.Array:
		return "[" + strconv.Itoa(t.Len()) + "]" + p.typeName(t.Elem())
	}
	if q, ok := qualifiers[t.PkgPath()]; ok {
		p.imports[t.PkgPath()] = true
		return q + "." + t.Name()
	}
	if t == durationType {
		p.imports["time"] = true
		return "time.Duration"
	}
	if t.PkgPath() != "" {
		p.fail("no name for type %s", t)
	}
	return t.String()
}

// value writes v. elide leaves out the type of a composite literal that
// is an element of a slice, as gofmt -s would.
func (p *printer) value(v reflect.Value, elide bool) {
	t := v.Type()
	switch {
	case t == durationType:
		p.write(p.duration(time.Duration(v.Int())))
		return
	case t == routerType:
		p.imports[hosttablePath] = true
		p.write(mph.RouterLiteral(v.Interface().(hosttable.Router)))
		return
	}
	if names, ok := enumNames[t]; ok {
		if n := v.Uint(); n < uint64(len(names)) && names[n] != "" {
			p.write(qualifiers[runtimePath] + "." + names[n])
		} else {
			p.write(p.typeName(t) + "(" + strconv.FormatUint(n, 10) + ")")
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		p.write(strconv.Quote(v.String()))
	case reflect.Bool:
		p.write(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.write(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint16:
		p.write(fmt.Sprintf("%#04x", v.Uint())) // TLS versions and cipher suites
	case reflect.Uint, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		p.write(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		p.write(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.Pointer:
		p.write("&")
		p.value(v.Elem(), false)
	case reflect.Interface:
		p.iface(v)
	case reflect.Struct:
		p.structLit(v, elide)
	case reflect.Slice:
		p.slice(v)
	default:
		p.fail("no literal for %s", t)
	}
}

// duration writes d as a constant expression in its largest whole unit.
func (p *printer) duration(d time.Duration) string {
	p.imports["time"] = true
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + " * time." + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + " * time.Nanosecond"
}

// iface writes the interfaces of the configuration as the calls that build
// them: the plugin chain, the endpoint discovery, the tracer and the JWT
// authenticator.
func (p *printer) iface(v reflect.Value) {
	if e, ok := v.Interface().(*extauthz.Client); ok {
		p.imports[extauthzPath] = true
		p.write("extauthz.New(")
		p.value(reflect.ValueOf(e.Spec()), false)
		p.write(")")
		return
	}
	if _, ok := v.Interface().(*kubernetes.Discovery); ok {
		p.imports[kubePath] = true
		p.write("kubernetes.New()")
		return
	}
	if t, ok := v.Interface().(*tracing.Tracer); ok {
		p.imports[tracingPath] = true
		p.write("tracing.New(")
		p.value(reflect.ValueOf(t.Spec()), false)
		p.write(")")
		return
	}
	if a, ok := v.Interface().(*jwt.Authenticator); ok {
		p.imports[jwtPath] = true
		p.write("jwt.New(")
		p.value(reflect.ValueOf(a.Spec()), false)
		p.write(")")
		return
	}
	c, ok := v.Interface().(*host.Chain)
	if !ok {
		p.fail("no literal for %T", v.Interface())
		return
	}
	p.imports[hostPath] = true
	p.write("host.New(")
	p.value(reflect.ValueOf(c.Specs()), false)
	p.write(")")
}

// fields returns the indexes of v's fields to write: exported and not
// zero. An unexported field that is set cannot be written, so it is an
// error: the literal would not hold the value.
func (p *printer) fields(v reflect.Value) []int {
	t := v.Type()
	var out []int
	for i := range t.NumField() {
		f := v.Field(i)
		if f.IsZero() && !alwaysWritten(t, i) {
			continue
		}
		if !t.Field(i).IsExported() {
			p.fail("%s.%s is set: the literal cannot hold it", t, t.Field(i).Name)
			continue
		}
		if f.Kind() == reflect.Slice && f.Len() == 0 {
			continue
		}
		out = append(out, i)
	}
	return out
}

// alwaysWritten says field i of t is written even when zero: a cluster
// index reads better as 0 than absent.
func alwaysWritten(t reflect.Type, i int) bool {
	return (t == weightedType || t == mirrorType) && t.Field(i).Name == "Cluster"
}

func (p *printer) structLit(v reflect.Value, elide bool) {
	t := v.Type()
	if !elide {
		p.write(p.typeName(t))
	}
	fields := p.fields(v)
	if s, ok := p.inline(v, fields); ok {
		p.write(s)
		return
	}
	p.write("{\n")
	for _, i := range fields {
		p.commentLines(p.fieldNote(v, i))
		p.write(t.Field(i).Name)
		p.write(": ")
		p.value(v.Field(i), false)
		p.write(",")
		if c := p.trailing(v.Field(i), t.Field(i).Name); c != "" {
			p.write(" // " + comment(c))
		}
		p.write("\n")
	}
	p.write("}")
}

// inline returns the struct on one line, when its fields are all short
// scalars or structs of them, and it fits.
func (p *printer) inline(v reflect.Value, fields []int) (string, bool) {
	if len(fields) > 4 {
		return "", false
	}
	t := v.Type()
	sub := &printer{imports: p.imports, notes: p.notes, cfg: p.cfg}
	sub.write("{")
	for n, i := range fields {
		f := v.Field(i)
		if p.fieldNote(v, i) != nil || p.trailing(f, t.Field(i).Name) != "" {
			return "", false
		}
		switch {
		case f.Kind() == reflect.Struct && f.Type() != routerType && f.Type() != durationType:
			s, ok := sub.inline(f, sub.fields(f))
			if !ok {
				return "", false
			}
			sub.write(t.Field(i).Name + ": " + sub.typeName(f.Type()) + s)
			if n < len(fields)-1 {
				sub.write(", ")
			}
			continue
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && f.Len() <= 4:
		case f.Kind() == reflect.Slice, f.Kind() == reflect.Pointer, f.Kind() == reflect.Interface, f.Kind() == reflect.Struct:
			return "", false
		}
		sub.write(t.Field(i).Name + ": ")
		sub.value(f, false)
		if n < len(fields)-1 {
			sub.write(", ")
		}
	}
	sub.write("}")
	if sub.err != nil || len(sub.b) > inlineWidth {
		return "", false
	}
	return string(sub.b), true
}

func (p *printer) slice(v reflect.Value) {
	t := v.Type()
	if t.Elem() == byteType {
		p.write("[]byte(" + strconv.Quote(string(v.Bytes())) + ")")
		return
	}
	p.write(p.typeName(t))
	elem := t.Elem().Kind()
	if elem != reflect.Struct && elem != reflect.Pointer && elem != reflect.Uint16 {
		// Scalars: on one line.
		p.write("{")
		for i := range v.Len() {
			if i > 0 {
				p.write(", ")
			}
			p.value(v.Index(i), false)
		}
		p.write("}")
		return
	}
	p.write("{\n")
	for i := range v.Len() {
		e := v.Index(i)
		if p.hosts != nil && e.Type() == vhostType {
			p.write(p.hosts.placeholder(i, e.Addr().Interface().(*runtime.VirtualHost)))
			continue
		}
		p.element(e, i)
	}
	p.write("}")
}

// element writes element i of a slice: its note, its literal and the
// comment after it.
func (p *printer) element(e reflect.Value, i int) {
	p.commentLines(p.elementNote(e, i))
	p.value(e, true)
	p.write(",")
	if c := p.trailing(e, ""); c != "" {
		p.write(" // " + comment(c))
	}
	p.write("\n")
}

// The types the printer comments on.
var (
	listenerType   = reflect.TypeFor[runtime.Listener]()
	vhostType      = reflect.TypeFor[runtime.VirtualHost]()
	routeType      = reflect.TypeFor[runtime.Route]()
	l4Type         = reflect.TypeFor[runtime.L4Route]()
	serverTLSType  = reflect.TypeFor[runtime.ServerTLS]()
	clusterType    = reflect.TypeFor[runtime.Cluster]()
	specType       = reflect.TypeFor[host.Spec]()
	jwtRuleType    = reflect.TypeFor[jwt.Rule]()
	configType     = reflect.TypeFor[runtime.Config]()
	weightedType   = reflect.TypeFor[runtime.WeightedCluster]()
	mirrorType     = reflect.TypeFor[runtime.Mirror]()
	uint16Type     = reflect.TypeFor[uint16]()
	authzRuleType  = reflect.TypeFor[runtime.AuthzRule]()
	authzValueType = reflect.TypeFor[runtime.AuthzValue]()
)

// elementNote is the comment above element i of a slice. It switches on
// the type before it reads a field: a large configuration has hundreds of
// thousands of elements.
func (p *printer) elementNote(e reflect.Value, i int) []string {
	switch e.Type() {
	case listenerType:
		return at(p.notes.listeners, i)
	case vhostType:
		return []string{strconv.Itoa(i) + ": " + e.FieldByName("Domain").String()}
	case routeType, l4Type, serverTLSType, authzRuleType:
		return []string{e.FieldByName("ID").String()}
	case clusterType:
		return at(p.notes.clusters, i)
	case specType:
		return at(p.notes.plugins, i)
	case jwtRuleType:
		return []string{e.FieldByName("ID").String()}
	}
	return nil
}

// fieldNote is the comment above field i of struct v.
func (p *printer) fieldNote(v reflect.Value, i int) []string {
	switch v.Type() {
	case configType:
		if v.Type().Field(i).Name == "Generated" {
			return []string{"gwc build ran Prepare on these tables: virtual hosts are prepared", "on first use."}
		}
	case serverTLSType:
		if v.Type().Field(i).Name == "TCP" {
			return []string{v.Field(i).Elem().FieldByName("ID").String()}
		}
	}
	return nil
}

// trailing is the comment after a value: the cluster a destination or
// mirror names, the TLS version or cipher suite a number stands for.
// field is the name of the struct field v is, "" for a slice element.
func (p *printer) trailing(v reflect.Value, field string) string {
	switch v.Type() {
	case weightedType, mirrorType:
		return p.clusterName(int(v.FieldByName("Cluster").Int()))
	case authzValueType:
		return authzNetwork(v.Interface().(runtime.AuthzValue))
	case uint16Type:
		if field == "MinVersion" || field == "MaxVersion" {
			return tls.VersionName(uint16(v.Uint()))
		}
		if field == "" {
			return tls.CipherSuiteName(uint16(v.Uint()))
		}
	}
	return ""
}

func (p *printer) clusterName(i int) string {
	if i >= 0 && i < len(p.cfg.Clusters) {
		return p.cfg.Clusters[i].Name
	}
	return ""
}

func at(notes [][]string, i int) []string {
	if i < len(notes) {
		return notes[i]
	}
	return nil
}
