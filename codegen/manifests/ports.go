package manifests

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gwc-dev/gwc/compiler/ir"
)

const (
	// StatusPort is the ingress's status port (Istio's 15021).
	StatusPort = 15021
	// adminPort is the admin server's port; it listens on loopback only,
	// but a container port there would still collide with it.
	adminPort = 15000
	// unprivilegedOffset moves a Gateway port below 1024 to one the
	// non-root user may bind, as Istio's gateway does (80 -> 8080).
	unprivilegedOffset = 8000
)

// Port is one Gateway port and the container port serving it.
type Port struct {
	// Name is the Service port name: "http-80".
	Name string
	// Port is the Gateway port, which the Service exposes.
	Port int
	// TargetPort is the port the container listens on.
	TargetPort int
}

var portNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// Ports returns the Gateway ports of cfg with their container ports: a port
// below 1024 moves up by 8000 (80 -> 8080, 443 -> 8443), to the next free
// port if that one is another Gateway port; other ports stay.
func Ports(cfg *ir.Config) ([]Port, error) {
	protocols := map[int]string{}
	var gwPorts []int
	for _, l := range cfg.Listeners {
		if _, ok := protocols[l.Port]; !ok {
			gwPorts = append(gwPorts, l.Port)
			protocols[l.Port] = strings.ToLower(l.Protocol)
		}
	}
	slices.Sort(gwPorts)
	taken := map[int]bool{StatusPort: true, adminPort: true}
	for _, p := range gwPorts {
		if p >= 1024 {
			if taken[p] {
				return nil, fmt.Errorf("gateway port %d is the ingress's own status or admin port; use another port", p)
			}
			taken[p] = true
		}
	}
	var out []Port
	for _, p := range gwPorts {
		target := p
		if p < 1024 {
			target = p + unprivilegedOffset
			for taken[target] && target < 65535 {
				target++
			}
			if taken[target] {
				return nil, fmt.Errorf("no free container port for Gateway port %d", p)
			}
			taken[target] = true
		}
		name := protocols[p] + "-" + strconv.Itoa(p)
		if len(name) > 15 || !portNameRE.MatchString(name) {
			name = "port-" + strconv.Itoa(p)
		}
		out = append(out, Port{Name: name, Port: p, TargetPort: target})
	}
	return out, nil
}

// ListenArgs are the ingress's flags that bind each Gateway port on its
// container port: --listen 80=:8080.
func ListenArgs(ports []Port) []string {
	var out []string
	for _, p := range ports {
		out = append(out, "--listen", fmt.Sprintf("%d=:%d", p.Port, p.TargetPort))
	}
	return out
}

// ContainerPorts are the ports the container listens on: every target
// port and the status port.
func ContainerPorts(ports []Port) []int {
	var out []int
	for _, p := range ports {
		out = append(out, p.TargetPort)
	}
	return append(out, StatusPort)
}
