package diag

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	d := Diagnostic{Pos: Pos{"vs.yaml", 7, 5}, Severity: Error, Code: CodeNotFound, Resource: "VirtualService shop/web",
		Field: "spec.gateways[0]", Message: `gateway "nope" not found`, Hint: "known gateways: shop/gw"}
	want := `vs.yaml:7:5: error IST0101: VirtualService shop/web: spec.gateways[0]: gateway "nope" not found (known gateways: shop/gw)`
	if got := d.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	d.Code, d.Hint = "", ""
	if got := d.String(); !strings.HasPrefix(got, "vs.yaml:7:5: error: ") {
		t.Errorf("without a code: %s", got)
	}
}

func TestRender(t *testing.T) {
	src := map[string]string{
		"vs.yaml": "spec:\n  gateways:\n  - nope\n  hosts: [\"a.example.com\", b]\n\tkey: {x: 1}\n",
	}
	l := List{
		{Pos: Pos{"vs.yaml", 3, 5}, Severity: Error, Code: "IST0101", Message: "m1", Hint: "h1"},
		{Pos: Pos{"vs.yaml", 4, 11}, Severity: Warning, Code: "GWC0103", Message: "m2"},
		{Pos: Pos{"vs.yaml", 5, 7}, Severity: Error, Message: "m3", Hint: "h3"},
		{Pos: Pos{"vs.yaml", 99, 1}, Severity: Error, Message: "past the end", Hint: "h4"},
		{Pos: Pos{File: "gone.yaml"}, Severity: Note, Message: "no line"},
	}
	var b bytes.Buffer
	l.Render(&b, func(f string) []byte {
		if s, ok := src[f]; ok {
			return []byte(s)
		}
		return nil
	})
	want := `vs.yaml:3:5: error IST0101: m1
    3 |   - nope
      |     ^~~~
      = hint: h1
vs.yaml:4:11: warning GWC0103: m2
    4 |   hosts: ["a.example.com", b]
      |           ^~~~~~~~~~~~~~~
vs.yaml:5:7: error: m3
    5 | 	key: {x: 1}
      | 	     ^
      = hint: h3
vs.yaml:99:1: error: past the end
      = hint: h4
gone.yaml: note: no line
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderHostileSource(t *testing.T) {
	line := "k: \xff\xfe\x00\x1b[31m" + strings.Repeat("x", 5000)
	var b bytes.Buffer
	List{{Pos: Pos{"f", 1, 4000}, Severity: Error, Message: "m"}}.Render(&b, func(string) []byte { return []byte(line) })
	out := b.String()
	if strings.ContainsAny(out, "\x00\x1b") || strings.Contains(out, "\xff") {
		t.Errorf("control bytes or invalid UTF-8 printed: %q", out)
	}
	if len(out) > 1000 {
		t.Errorf("excerpt not bounded: %d bytes", len(out))
	}
}

func TestJSONAndSARIF(t *testing.T) {
	l := List{{Pos: Pos{"vs.yaml", 3, 5}, Severity: Warning, Code: "IST0132", Resource: "VirtualService a/b", Field: "spec.hosts[0]", Message: "m", Hint: "h"}}
	var b bytes.Buffer
	if err := l.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["code"] != "IST0132" || got[0]["line"] != 3.0 || got[0]["severity"] != "warning" {
		t.Errorf("json: %s", b.String())
	}
	b.Reset()
	if err := (List{}).WriteJSON(&b); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty list: %q", b.String())
	}
	b.Reset()
	if err := l.WriteSARIF(&b, "v1"); err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &sarif); err != nil {
		t.Fatal(err)
	}
	r := sarif.Runs[0].Results[0]
	if sarif.Version != "2.1.0" || sarif.Runs[0].Tool.Driver.Rules[0].ID != "IST0132" || r.RuleID != "IST0132" || r.Level != "warning" ||
		r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "vs.yaml" || r.Locations[0].PhysicalLocation.Region.StartLine != 3 {
		t.Errorf("sarif: %s", b.String())
	}
}
