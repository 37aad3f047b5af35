package load

import (
	"bytes"
	"testing"
)

// TestJSONIsMarshalJSON: the spliced JSON of a resource is exactly what
// CUE's MarshalJSON gives, so the build digest does not change.
func TestJSONIsMarshalJSON(t *testing.T) {
	// The unified values, which YAML documents do not keep as Value.
	keepUnified = true
	defer func() { keepUnified = false }()
	res := Load([]string{"../../examples", "../../schema/testdata/valid.yaml"}, Options{})
	if len(res.Resources) < 10 {
		t.Fatalf("loaded %d resources: %v", len(res.Resources), res.Diags)
	}
	for _, r := range res.Resources {
		want, werr := r.Value.MarshalJSON()
		got, gerr := r.spliceJSON()
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Errorf("%s: JSON() = %s, %v\nMarshalJSON() = %s, %v", r.ID(), got, gerr, want, werr)
		}
	}
}
