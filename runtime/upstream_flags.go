package runtime

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
)

// upstreamOptions are the flags about reaching upstreams: where DNS
// endpoints are resolved, and the bound on mirrored requests.
type upstreamOptions struct {
	dnsServers dnsServersFlag
	// maxMirrors bounds the mirrored requests in flight, process-wide.
	maxMirrors int
}

// defaultMaxMirrors is --max-mirror-requests' default: enough for a busy
// gateway's shadow traffic to a healthy mirror (a thousand requests a
// second answered within a second), small next to the memory a stuck
// mirror could otherwise take (each copy holds up to 1 MiB of body).
const defaultMaxMirrors = 1024

func (o *upstreamOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.dnsServers, "dns-server",
		"`IP[:PORT]` of a DNS server to resolve DNS endpoints with instead of the nameservers of /etc/resolv.conf "+
			"(repeatable, asked in order; search and ndots still come from /etc/resolv.conf)")
	fs.IntVar(&o.maxMirrors, "max-mirror-requests", defaultMaxMirrors,
		"most mirrored requests in flight at once, across all routes; past it a mirror copy is dropped and counted "+
			"(gwc_mirror_requests_dropped_total), the request itself is never delayed")
}

func (o *upstreamOptions) check() error {
	if o.maxMirrors < 0 {
		return errors.New("--max-mirror-requests must not be negative")
	}
	return nil
}

// dnsServersFlag collects --dns-server.
type dnsServersFlag []netip.AddrPort

func (f *dnsServersFlag) String() string {
	parts := make([]string, len(*f))
	for i, s := range *f {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

func (f *dnsServersFlag) Set(v string) error {
	if ip, err := netip.ParseAddr(v); err == nil {
		*f = append(*f, netip.AddrPortFrom(ip, 53))
		return nil
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil {
		return fmt.Errorf("%q is not an IP address or IP:PORT", v)
	}
	*f = append(*f, ap)
	return nil
}
