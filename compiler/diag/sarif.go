package diag

import (
	"encoding/json"
	"io"
	"slices"
)

// WriteSARIF writes the list as a SARIF 2.1.0 log with one run, the form
// code-scanning services read. Each distinct code becomes a rule; results
// point at the file, line and column of the value.
func (l List) WriteSARIF(w io.Writer, toolVersion string) error {
	type message struct {
		Text string `json:"text"`
	}
	type region struct {
		StartLine   int `json:"startLine,omitempty"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	type artifact struct {
		URI string `json:"uri"`
	}
	type physical struct {
		ArtifactLocation artifact `json:"artifactLocation"`
		Region           *region  `json:"region,omitempty"`
	}
	type location struct {
		PhysicalLocation physical `json:"physicalLocation"`
	}
	type result struct {
		RuleID    string     `json:"ruleId"`
		Level     string     `json:"level"`
		Message   message    `json:"message"`
		Locations []location `json:"locations,omitempty"`
	}
	type rule struct {
		ID string `json:"id"`
	}
	type driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri"`
		Rules          []rule `json:"rules"`
	}
	type tool struct {
		Driver driver `json:"driver"`
	}
	type run struct {
		Tool    tool     `json:"tool"`
		Results []result `json:"results"`
	}
	type log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}

	var ids []string
	results := []result{}
	for _, d := range l {
		id := d.Code
		if id == "" {
			id = "gwc"
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		level := map[Severity]string{Error: "error", Warning: "warning", Note: "note"}[d.Severity]
		text := d.Message
		if d.Resource != "" || d.Field != "" {
			text = d.Resource + " " + d.Field + ": " + text
		}
		if d.Hint != "" {
			text += " (" + d.Hint + ")"
		}
		res := result{RuleID: id, Level: level, Message: message{text}}
		if d.Pos.File != "" {
			loc := location{PhysicalLocation: physical{ArtifactLocation: artifact{d.Pos.File}}}
			if d.Pos.Line > 0 {
				loc.PhysicalLocation.Region = &region{d.Pos.Line, d.Pos.Col}
			}
			res.Locations = []location{loc}
		}
		results = append(results, res)
	}
	slices.Sort(ids)
	rules := make([]rule, len(ids))
	for i, id := range ids {
		rules[i] = rule{id}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []run{{
			Tool:    tool{driver{Name: "gwc", Version: toolVersion, InformationURI: "https://github.com/gwc-dev/gwc", Rules: rules}},
			Results: results,
		}},
	})
}
