package dns

import (
	"bufio"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is what the client reads from resolv.conf: the servers to ask and
// how a name becomes the names that are asked.
type Config struct {
	// Servers are asked in order.
	Servers []netip.AddrPort
	// Search are the search domains, without a final dot.
	Search []string
	// Ndots is how many dots make a name tried as it is before the search
	// domains.
	Ndots int
	// Timeout bounds one query to one server; Attempts is how many times
	// the list of servers is tried.
	Timeout  time.Duration
	Attempts int
}

// The defaults of Go's resolver, which are glibc's.
const (
	defaultNdots    = 1
	maxNdots        = 15
	defaultTimeout  = 5 * time.Second
	defaultAttempts = 2
)

// ReadConfig reads a resolv.conf as Go's resolver does: nameserver lines
// (port 53), the last of search and domain, and the options ndots, timeout
// and attempts. Without the file, or without nameserver lines, the local
// server is asked (127.0.0.1 and ::1), and without search or domain the
// host name's domain is searched: Go's defaults.
func ReadConfig(path string) Config {
	c := Config{Ndots: defaultNdots, Timeout: defaultTimeout, Attempts: defaultAttempts}
	searchSet := false
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if len(line) > 0 && (line[0] == ';' || line[0] == '#') {
				continue
			}
			fields := strings.Fields(line)
			if len(fields) < 1 {
				continue
			}
			switch fields[0] {
			case "nameserver":
				if len(fields) > 1 {
					if ip, err := netip.ParseAddr(fields[1]); err == nil {
						c.Servers = append(c.Servers, netip.AddrPortFrom(ip, 53))
					}
				}
			case "domain":
				if len(fields) > 1 {
					c.Search, searchSet = []string{trimDot(fields[1])}, true
				}
			case "search":
				c.Search, searchSet = nil, true
				for _, s := range fields[1:] {
					if s = trimDot(s); s != "" {
						c.Search = append(c.Search, s)
					}
				}
			case "options":
				for _, o := range fields[1:] {
					c.option(o)
				}
			}
		}
	}
	if len(c.Servers) == 0 {
		c.Servers = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53"), netip.MustParseAddrPort("[::1]:53")}
	}
	if !searchSet {
		if h, err := os.Hostname(); err == nil {
			if _, domain, ok := strings.Cut(h, "."); ok && domain != "" {
				c.Search = []string{trimDot(domain)}
			}
		}
	}
	return c
}

// option applies one resolv.conf option; the bounds are Go's.
func (c *Config) option(o string) {
	name, val, _ := strings.Cut(o, ":")
	n, err := strconv.Atoi(val)
	if err != nil {
		return
	}
	switch name {
	case "ndots":
		c.Ndots = min(max(n, 0), maxNdots)
	case "timeout":
		c.Timeout = time.Duration(max(n, 1)) * time.Second
	case "attempts":
		c.Attempts = max(n, 1)
	}
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

// names lists the fully qualified names host is asked as, in order, as Go's
// resolver lists them: a rooted name only as it is; a name with at least
// Ndots dots as it is first, then under each search domain; a shorter one
// under each search domain first, then as it is. Names longer than DNS
// allows are left out.
func (c *Config) names(host string) []string {
	if strings.HasSuffix(host, ".") {
		return []string{host}
	}
	asIs := host + "."
	var out []string
	tryFirst := strings.Count(host, ".") >= c.Ndots
	if tryFirst {
		out = append(out, asIs)
	}
	for _, s := range c.Search {
		if n := asIs + s + "."; len(n) <= 254 {
			out = append(out, n)
		}
	}
	if !tryFirst {
		out = append(out, asIs)
	}
	return out
}

// hostsNames returns the names a hosts file gives addresses to, lower
// case, without a final dot.
func hostsNames(path string) map[string]bool {
	names := map[string]bool{}
	f, err := os.Open(path)
	if err != nil {
		return names
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		for _, n := range fields[1:] {
			names[strings.ToLower(trimDot(n))] = true
		}
	}
	return names
}
