package runtime

import (
	"net"
	"strconv"
	"strings"
)

// inherited holds listening sockets the process did not open itself: the
// ones systemd passes (listen_systemd.go) or the ones a predecessor hands
// over (listen_handover.go). bind takes what it needs from them before it
// opens any socket itself, so a port is never bound twice.
type inherited struct {
	from  string // for logs: "systemd" or "handover"
	socks []*inheritedSocket
}

type inheritedSocket struct {
	// name is systemd's FileDescriptorName or the predecessor's name for
	// the socket: http-80 (any prefix, then the Gateway port), status,
	// admin, handover.
	name string
	// addr is the address the predecessor was told to bind (--listen,
	// --status-addr...); empty from systemd.
	addr  string
	ln    net.Listener
	taken bool
}

// socketName names the socket of Gateway listener l as the handover and the
// systemd units do: the protocol in lower case, a dash, the Gateway port.
func socketName(l *Listener) string {
	return strings.ToLower(l.Protocol) + "-" + strconv.Itoa(l.Port)
}

// take returns the inherited socket for the socket named name (role
// "listener" with its Gateway port, or "status", "admin", "handover")
// wanted on addr, or nil. A socket of the same role is preferred: for
// Gateway listeners the name's number must be the port, so a systemd unit
// may call port 80's socket http-80 or web-80. Failing that, any socket
// already bound to addr is taken (a Gateway port renumbered onto the same
// address), so the new process never tries to bind an address its
// predecessor still holds.
func (in *inherited) take(name string, port int, addr string) net.Listener {
	if in == nil {
		return nil
	}
	for _, s := range in.socks {
		if !s.taken && sameRole(s.name, name, port) && (s.addr == "" || s.addr == addr || boundTo(s.ln, addr)) {
			s.taken = true
			return s.ln
		}
	}
	for _, s := range in.socks {
		if !s.taken && boundTo(s.ln, addr) {
			s.taken = true
			return s.ln
		}
	}
	return nil
}

// left returns the sockets nothing took.
func (in *inherited) left() []*inheritedSocket {
	if in == nil {
		return nil
	}
	var l []*inheritedSocket
	for _, s := range in.socks {
		if !s.taken {
			l = append(l, s)
		}
	}
	return l
}

// sameRole reports whether an inherited socket named have serves the
// socket named want (of Gateway port port when it is a listener).
func sameRole(have, want string, port int) bool {
	if port == 0 {
		return have == want
	}
	i := strings.LastIndexByte(have, '-')
	return i > 0 && have[i+1:] == strconv.Itoa(port)
}

// boundTo reports whether ln is bound to addr: the same port (never 0,
// which asks for any) and the same IP, where any unspecified IP (":80",
// "0.0.0.0:80", "[::]:80") matches any other.
func boundTo(ln net.Listener, addr string) bool {
	have, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != strconv.Itoa(have.Port) || have.Port == 0 {
		return false
	}
	ip := net.ParseIP(host)
	if host == "" || ip != nil && ip.IsUnspecified() {
		return have.IP == nil || have.IP.IsUnspecified()
	}
	return ip != nil && ip.Equal(have.IP)
}
