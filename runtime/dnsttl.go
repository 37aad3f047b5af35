package runtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// A small DNS client for A and AAAA questions, so that DNS endpoints are
// refreshed when their records expire: net.Resolver does not return TTLs.
// It asks the nameservers of /etc/resolv.conf; names it should not answer
// (in the hosts file, single-label names that need search domains, a
// truncated answer) fall back to the Go resolver and the fixed refresh.

// errNoTTL says the TTL client cannot answer this name; use the resolver.
var errNoTTL = errors.New("name not resolvable with TTL")

const (
	dnsTypeA     = 1
	dnsTypeCNAME = 5
	dnsTypeAAAA  = 28
)

type ttlResolver struct {
	servers []string // "ip:port"
	timeout time.Duration
	hosts   map[string]bool // names in the hosts file
}

// systemTTLResolver reads /etc/resolv.conf and /etc/hosts once.
var systemTTLResolver = sync.OnceValue(func() *ttlResolver {
	r := &ttlResolver{timeout: 2 * time.Second, hosts: readHostsFile("/etc/hosts")}
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return r
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip, err := netip.ParseAddr(fields[1]); err == nil {
				r.servers = append(r.servers, netip.AddrPortFrom(ip, 53).String())
			}
		}
	}
	return r
})

func readHostsFile(path string) map[string]bool {
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
		for _, n := range fields[min(1, len(fields)):] {
			names[strings.ToLower(strings.TrimSuffix(n, "."))] = true
		}
	}
	return names
}

// lookup returns the addresses of host and the smallest TTL of the records
// that gave them (CNAMEs included).
func (r *ttlResolver) lookup(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if len(r.servers) == 0 || !strings.Contains(name, ".") || r.hosts[name] ||
		name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return nil, 0, errNoTTL
	}
	var all []netip.Addr
	ttl := time.Duration(-1)
	var firstErr error
	for _, qt := range []uint16{dnsTypeA, dnsTypeAAAA} {
		addrs, t, err := r.query(ctx, name, qt)
		if errors.Is(err, errNoTTL) {
			return nil, 0, err
		}
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		all = append(all, addrs...)
		if len(addrs) > 0 && (ttl < 0 || t < ttl) {
			ttl = t
		}
	}
	if len(all) == 0 {
		if firstErr == nil {
			firstErr = errors.New("no A or AAAA records")
		}
		return nil, 0, firstErr
	}
	return all, ttl, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// query asks each server in turn until one answers.
func (r *ttlResolver) query(ctx context.Context, name string, qtype uint16) ([]netip.Addr, time.Duration, error) {
	msg, id, err := dnsQuery(name, qtype)
	if err != nil {
		return nil, 0, errNoTTL
	}
	var lastErr error
	for _, srv := range r.servers {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		addrs, ttl, err := r.exchange(ctx, srv, msg, id, qtype)
		if err == nil || errors.Is(err, errNoTTL) {
			return addrs, ttl, err
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

func (r *ttlResolver) exchange(ctx context.Context, srv string, msg []byte, id, qtype uint16) ([]netip.Addr, time.Duration, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "udp", srv)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write(msg); err != nil {
		return nil, 0, err
	}
	buf := make([]byte, 4096)
	for range 8 { // ignore a few stray datagrams with other IDs
		n, err := c.Read(buf)
		if err != nil {
			return nil, 0, err
		}
		if n >= 2 && binary.BigEndian.Uint16(buf) == id {
			return parseDNSAnswer(buf[:n], qtype)
		}
	}
	return nil, 0, errors.New("no matching DNS answer")
}

// dnsQuery builds a recursive query for name.
func dnsQuery(name string, qtype uint16) ([]byte, uint16, error) {
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	b := make([]byte, 12, 12+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 0x0100) // recursion desired
	binary.BigEndian.PutUint16(b[4:], 1)
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return nil, 0, errors.New("bad name")
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0, byte(qtype>>8), byte(qtype), 0, 1)
	return b, id, nil
}

var errDNSFormat = errors.New("malformed DNS answer")

// parseDNSAnswer reads the answer records of qtype and the smallest TTL of
// the answer section.
func parseDNSAnswer(m []byte, qtype uint16) ([]netip.Addr, time.Duration, error) {
	if len(m) < 12 {
		return nil, 0, errDNSFormat
	}
	flags := binary.BigEndian.Uint16(m[2:])
	if flags&0x8000 == 0 {
		return nil, 0, errDNSFormat
	}
	if flags&0x0200 != 0 {
		return nil, 0, errNoTTL // truncated: let the resolver use TCP
	}
	switch rcode := flags & 0xf; rcode {
	case 0:
	case 3:
		return nil, 0, errors.New("no such host")
	default:
		return nil, 0, errors.New("DNS server failure")
	}
	qd, an := int(binary.BigEndian.Uint16(m[4:])), int(binary.BigEndian.Uint16(m[6:]))
	off := 12
	var ok bool
	for range qd {
		if off, ok = skipName(m, off); !ok || off+4 > len(m) {
			return nil, 0, errDNSFormat
		}
		off += 4
	}
	var addrs []netip.Addr
	ttl := time.Duration(-1)
	for range an {
		if off, ok = skipName(m, off); !ok || off+10 > len(m) {
			return nil, 0, errDNSFormat
		}
		typ := binary.BigEndian.Uint16(m[off:])
		t := time.Duration(binary.BigEndian.Uint32(m[off+4:])) * time.Second
		rdlen := int(binary.BigEndian.Uint16(m[off+8:]))
		off += 10
		if off+rdlen > len(m) {
			return nil, 0, errDNSFormat
		}
		rd := m[off : off+rdlen]
		off += rdlen
		switch {
		case typ == qtype && typ == dnsTypeA && rdlen == 4:
			addrs = append(addrs, netip.AddrFrom4([4]byte(rd)))
		case typ == qtype && typ == dnsTypeAAAA && rdlen == 16:
			addrs = append(addrs, netip.AddrFrom16([16]byte(rd)))
		case typ == dnsTypeCNAME:
		default:
			continue
		}
		if ttl < 0 || t < ttl {
			ttl = t
		}
	}
	return addrs, max(ttl, 0), nil
}

// skipName moves past a (possibly compressed) name.
func skipName(m []byte, off int) (int, bool) {
	for range 128 {
		if off >= len(m) {
			return 0, false
		}
		l := int(m[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(m)
		case l&0xc0 != 0:
			return 0, false
		}
		off += 1 + l
	}
	return 0, false
}
