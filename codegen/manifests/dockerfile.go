package manifests

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/gwc-dev/gwc/templates"
)

// Dockerfile describes the Dockerfile gwc build --dockerfile writes, an
// alternative to gwc's own image for those who prefer docker build.
type Dockerfile struct {
	// Binary is the binary's file name beside the Dockerfile; with several
	// platforms, a pattern with ${TARGETOS} and ${TARGETARCH}.
	Binary string
	// Ports are the container ports to EXPOSE (ContainerPorts).
	Ports []int
	// Cmd are the ingress's default arguments (ListenArgs).
	Cmd    []string
	Labels map[string]string
	// User is the numeric user and group the binary runs as.
	User          int
	MultiPlatform bool
}

// RenderDockerfile fills templates/Dockerfile.tmpl. Labels and arguments
// reach it JSON-quoted, which Dockerfile strings and exec forms read as
// written.
func RenderDockerfile(d Dockerfile) ([]byte, error) {
	t, err := template.ParseFS(templates.FS, "Dockerfile.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile template: %w", err)
	}
	cmd := d.Cmd
	if cmd == nil {
		cmd = []string{}
	}
	b, _ := json.Marshal(cmd)
	v := struct {
		Binary, Cmd   string
		Ports         []int
		Labels        []string
		User          int
		MultiPlatform bool
	}{Binary: d.Binary, Cmd: string(b), Ports: d.Ports, User: d.User, MultiPlatform: d.MultiPlatform}
	for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
		v.Labels = append(v.Labels, quote(k)+"="+quote(d.Labels[k]))
	}
	var out strings.Builder
	if err := t.ExecuteTemplate(&out, "Dockerfile", v); err != nil {
		return nil, fmt.Errorf("rendering the Dockerfile: %w", err)
	}
	return []byte(out.String()), nil
}
