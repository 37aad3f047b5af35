// Package dns is a stub resolver for A and AAAA records that returns their
// TTL, which net.Resolver does not, so that DNS endpoints are refreshed
// when their records expire. Messages are built and parsed by
// golang.org/x/net/dns/dnsmessage; the client asks the servers and search
// domains of resolv.conf as Go's resolver does, and leaves to that
// resolver what it should answer instead (names of the hosts file,
// localhost, names no server knows).
package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var (
	// ErrNotFound says no server knows an address for any name tried (an
	// NXDOMAIN, or a name without A or AAAA records): the system resolver
	// may still know it.
	ErrNotFound = errors.New("no such host")
	// ErrNotAsked says the client leaves the name to the system resolver:
	// it is in the hosts file, is localhost, or no server is configured.
	ErrNotAsked = errors.New("name left to the system resolver")
)

// Client resolves names with their TTL.
type Client struct {
	cfg   Config
	hosts map[string]bool
}

// NewClient returns a client for cfg that leaves the names of the hosts
// file at hostsPath to the system resolver ("" for none).
func NewClient(cfg Config, hostsPath string) *Client {
	c := &Client{cfg: cfg, hosts: map[string]bool{}}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = defaultTimeout
	}
	c.cfg.Attempts = max(c.cfg.Attempts, 1)
	if hostsPath != "" {
		c.hosts = hostsNames(hostsPath)
	}
	return c
}

// Lookup returns the addresses of host and the smallest TTL of the records
// that gave them (CNAMEs included). It tries the names host stands for in
// Go's order and stops at the first with addresses. It fails with
// ErrNotAsked or ErrNotFound when the system resolver should be asked
// instead, and with another error when a server failed (the caller keeps
// what it had).
func (c *Client) Lookup(ctx context.Context, host string) ([]netip.Addr, time.Duration, error) {
	name := strings.ToLower(host)
	bare := trimDot(name)
	if len(c.cfg.Servers) == 0 || c.hosts[bare] || bare == "localhost" || strings.HasSuffix(bare, ".localhost") {
		return nil, 0, ErrNotAsked
	}
	var failed error
	for _, fqdn := range c.cfg.names(name) {
		addrs, ttl, err := c.lookupName(ctx, fqdn)
		switch {
		case err == nil && len(addrs) > 0:
			return addrs, ttl, nil
		case ctx.Err() != nil:
			return nil, 0, ctx.Err()
		case err != nil && !errors.Is(err, ErrNotFound):
			failed = cmpErr(failed, err)
		}
	}
	if failed != nil {
		return nil, 0, failed
	}
	return nil, 0, fmt.Errorf("%s: %w", host, ErrNotFound)
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// lookupName asks for the A and AAAA records of one fully qualified name.
func (c *Client) lookupName(ctx context.Context, fqdn string) ([]netip.Addr, time.Duration, error) {
	q, err := dnsmessage.NewName(fqdn)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", fqdn, ErrNotFound) // not a DNS name: no server knows it
	}
	var all []netip.Addr
	ttl := time.Duration(-1)
	var failed error
	for _, qtype := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
		addrs, t, err := c.query(ctx, dnsmessage.Question{Name: q, Type: qtype, Class: dnsmessage.ClassINET})
		if err != nil {
			failed = cmpErr(failed, err)
			continue
		}
		all = append(all, addrs...)
		if len(addrs) > 0 && (ttl < 0 || t < ttl) {
			ttl = t
		}
	}
	switch {
	case len(all) > 0:
		return all, ttl, nil
	case failed != nil:
		return nil, 0, failed
	}
	return nil, 0, fmt.Errorf("%s: %w", fqdn, ErrNotFound)
}

// query asks the servers in turn, Attempts times over, until one gives an
// answer: addresses, or a name error, which is final.
func (c *Client) query(ctx context.Context, q dnsmessage.Question) ([]netip.Addr, time.Duration, error) {
	var last error
	for range c.cfg.Attempts {
		for _, srv := range c.cfg.Servers {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			addrs, ttl, err := c.exchange(ctx, srv, q)
			if err == nil || errors.Is(err, ErrNotFound) {
				return addrs, ttl, err
			}
			last = err
		}
	}
	return nil, 0, last
}

// udpSize is the EDNS0 payload size offered, the size DNS Flag Day 2020
// recommends (and Go's resolver offers).
const udpSize = 1232

// exchange asks one server, over UDP and again over TCP when the answer
// was truncated.
func (c *Client) exchange(ctx context.Context, srv netip.AddrPort, q dnsmessage.Question) ([]netip.Addr, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	id := uint16(rand.Uint32())
	msg, err := newQuery(id, q)
	if err != nil {
		return nil, 0, err
	}
	answer, err := exchangeUDP(ctx, srv, msg, id, q)
	if err == nil && answer.header.Truncated {
		answer, err = exchangeTCP(ctx, srv, msg, id, q)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("asking %s for %s: %w", srv, q.Name, err)
	}
	return answer.addresses(srv, q)
}

func newQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 2, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(udpSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	msg, err := b.Finish()
	if err != nil {
		return nil, err
	}
	// The two bytes in front are TCP's length prefix; UDP sends msg[2:].
	binary.BigEndian.PutUint16(msg, uint16(len(msg)-2))
	return msg, nil
}

// dial connects to srv with ctx's deadline on the connection, and ctx's
// end interrupting a read or write in progress; done releases both.
func dial(ctx context.Context, network string, srv netip.AddrPort) (net.Conn, func(), error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, srv.String())
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	return conn, func() { stop(); conn.Close() }, nil
}

// exchangeUDP sends the query and reads datagrams until one answers it:
// same ID, a response, the same question. Others (late answers to an
// earlier query, forgeries) are ignored until the deadline.
func exchangeUDP(ctx context.Context, srv netip.AddrPort, msg []byte, id uint16, q dnsmessage.Question) (*answer, error) {
	conn, done, err := dial(ctx, "udp", srv)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := conn.Write(msg[2:]); err != nil {
		return nil, err
	}
	buf := make([]byte, udpSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if a, ok := match(buf[:n], id, q); ok {
			return a, nil
		}
	}
}

// exchangeTCP asks again over TCP, for an answer too long for UDP.
func exchangeTCP(ctx context.Context, srv netip.AddrPort, msg []byte, id uint16, q dnsmessage.Question) (*answer, error) {
	conn, done, err := dial(ctx, "tcp", srv)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	a, ok := match(buf, id, q)
	if !ok {
		return nil, errors.New("the TCP answer does not match the question")
	}
	return a, nil
}

// answer is a parsed response whose question matched ours, positioned at
// its answer section.
type answer struct {
	header dnsmessage.Header
	p      dnsmessage.Parser
}

// match parses msg and reports whether it answers the query id for q.
func match(msg []byte, id uint16, q dnsmessage.Question) (*answer, bool) {
	a := &answer{}
	h, err := a.p.Start(msg)
	if err != nil || h.ID != id || !h.Response {
		return nil, false
	}
	qs, err := a.p.AllQuestions()
	if err != nil || len(qs) != 1 || qs[0].Type != q.Type || qs[0].Class != q.Class || !equalName(qs[0].Name, q.Name) {
		return nil, false
	}
	a.header = h
	return a, true
}

// equalName compares names as DNS does: ASCII case does not matter.
func equalName(a, b dnsmessage.Name) bool {
	return strings.EqualFold(a.String(), b.String())
}

// maxCNAMEs bounds a chain of aliases in one answer.
const maxCNAMEs = 8

// addresses reads the records of q's type that belong to q's name, or to
// the name its CNAME chain in the answer leads to, and the smallest TTL of
// those records and of the CNAMEs followed.
func (a *answer) addresses(srv netip.AddrPort, q dnsmessage.Question) ([]netip.Addr, time.Duration, error) {
	switch a.header.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return nil, 0, fmt.Errorf("%s: %w", q.Name, ErrNotFound)
	default:
		return nil, 0, fmt.Errorf("%s answered %s for %s", srv, a.header.RCode, q.Name)
	}
	type rec struct {
		owner dnsmessage.Name
		ttl   time.Duration
		addr  netip.Addr
		alias dnsmessage.Name // a CNAME's target
	}
	var recs []rec
	for {
		h, err := a.p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("answer from %s: %w", srv, err)
		}
		r := rec{owner: h.Name, ttl: time.Duration(h.TTL) * time.Second}
		switch {
		case h.Class != dnsmessage.ClassINET:
			err = a.p.SkipAnswer()
		case h.Type == dnsmessage.TypeCNAME:
			var c dnsmessage.CNAMEResource
			if c, err = a.p.CNAMEResource(); err == nil {
				r.alias = c.CNAME
				recs = append(recs, r)
			}
		case h.Type == q.Type && h.Type == dnsmessage.TypeA:
			var v dnsmessage.AResource
			if v, err = a.p.AResource(); err == nil {
				r.addr = netip.AddrFrom4(v.A)
				recs = append(recs, r)
			}
		case h.Type == q.Type && h.Type == dnsmessage.TypeAAAA:
			var v dnsmessage.AAAAResource
			if v, err = a.p.AAAAResource(); err == nil {
				r.addr = netip.AddrFrom16(v.AAAA)
				recs = append(recs, r)
			}
		default:
			err = a.p.SkipAnswer()
		}
		if err != nil {
			return nil, 0, fmt.Errorf("answer from %s: %w", srv, err)
		}
	}
	name := q.Name
	ttl := time.Duration(-1)
	lower := func(t time.Duration) {
		if ttl < 0 || t < ttl {
			ttl = t
		}
	}
	var addrs []netip.Addr
	for range maxCNAMEs {
		next := false
		for _, r := range recs {
			if !equalName(r.owner, name) {
				continue
			}
			if r.addr.IsValid() {
				addrs = append(addrs, r.addr)
				lower(r.ttl)
			} else if !next {
				name, next = r.alias, true
				lower(r.ttl)
			}
		}
		if len(addrs) > 0 || !next {
			break
		}
	}
	if len(addrs) == 0 {
		return nil, 0, fmt.Errorf("%s: no %s record: %w", q.Name, q.Type, ErrNotFound)
	}
	return addrs, ttl, nil
}
