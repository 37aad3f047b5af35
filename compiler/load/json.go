package load

import (
	"bytes"
	"encoding/json"
	"errors"

	"cuelang.org/go/cue"
)

// The compiler, the analyzers and the digest read each resource as JSON:
// turning a CUE value into JSON orders its fields each time, which was the
// largest single cost of vetting a thousand resources, so each resource
// is turned into JSON once. The spec, which is most of a resource, is
// marshalled first and on its own, because per-resource checks need only
// the spec; the whole resource reuses it.

// SpecJSON returns the JSON of the resource's spec field, computed once;
// an error when the resource has no concrete spec. Not safe for
// concurrent use.
func (r *Resource) SpecJSON() ([]byte, error) {
	if !r.specDone {
		r.specDone = true
		r.spec, r.specErr = r.Value.LookupPath(specPath).MarshalJSON()
	}
	return r.spec, r.specErr
}

// JSON returns the resource's Value as JSON, computed once, byte for byte
// what Value.MarshalJSON gives. Not safe for concurrent use.
func (r *Resource) JSON() ([]byte, error) {
	if !r.jsonDone {
		r.jsonDone = true
		r.json, r.jsonErr = r.spliceJSON()
		if r.jsonErr != nil {
			r.json, r.jsonErr = r.Value.MarshalJSON()
		}
	}
	return r.json, r.jsonErr
}

// spliceJSON writes the resource's top-level fields in order, the spec
// from SpecJSON.
func (r *Resource) spliceJSON() ([]byte, error) {
	spec, err := r.SpecJSON()
	if err != nil {
		return nil, err
	}
	it, err := r.Value.Fields()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for n := 0; it.Next(); n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		sel := it.Selector()
		if sel.Type() != cue.StringLabel {
			return nil, errNotPlain
		}
		key, err := json.Marshal(sel.Unquoted())
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		if sel.Unquoted() == "spec" {
			b.Write(spec)
			continue
		}
		v, err := it.Value().MarshalJSON()
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

var (
	specPath    = cue.ParsePath("spec")
	errNotPlain = errors.New("a top-level field is not a plain field")
)
