package load

import (
	"encoding/json"
	"errors"

	"cuelang.org/go/cue"
)

// JSON returns the resource's Value as JSON, computed once. Every later
// stage (the compiler's decoding, the analyzers, the digest) reads the
// resource through this: turning a CUE value into JSON orders its fields
// each time, which was the largest single cost of vetting a thousand
// resources. Not safe for concurrent use.
func (r *Resource) JSON() ([]byte, error) {
	if !r.jsonDone {
		r.jsonDone = true
		r.json, r.jsonErr = r.Value.MarshalJSON()
	}
	return r.json, r.jsonErr
}

// SpecJSON returns the JSON of the resource's spec field, computed once;
// an error when the resource has no concrete spec.
func (r *Resource) SpecJSON() ([]byte, error) {
	if !r.specDone {
		r.specDone = true
		r.spec, r.specErr = r.specJSON()
	}
	return r.spec, r.specErr
}

func (r *Resource) specJSON() ([]byte, error) {
	js, err := r.JSON()
	if err != nil {
		// Part of the value is not concrete; the spec may still be.
		return r.Value.LookupPath(specPath).MarshalJSON()
	}
	var top struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, err
	}
	if top.Spec == nil {
		return nil, errNoSpec
	}
	return top.Spec, nil
}

var errNoSpec = errors.New("resource has no spec")
var specPath = cue.ParsePath("spec")
