package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Socket handover: a new ingress binary (a new configuration) takes the
// listening sockets of the running one over a Unix socket, as HAProxy's
// listener transfer and Envoy's hot restart do, so no socket is ever closed
// between the two and no connection is refused.
//
// The old process serves handovers on --handover-socket PATH. The new one,
// started with --takeover PATH, connects and the two exchange one JSON line
// each way per step:
//
//	new -> old  {"protocol":1,"version":...,"digest":...,"pid":...}
//	old -> new  the same about itself, "sockets":[{"name","addr"}...], and
//	            the sockets' file descriptors in the same message (SCM_RIGHTS)
//	            -- or {"error":...} when it refuses
//	new -> old  {"ready":true,"sockets":[the ones it took]} once it serves,
//	            or {"error":...}, or it closes
//	old -> new  {"draining":true}; the old process drains and exits 0, and
//	            closes for good the sockets the new one did not take
//
// Until "ready" the old process changes nothing: a new binary that fails
// (a bad credential, a port it cannot bind, readiness never reached) just
// closes its copies, and the old one keeps serving as before. Both hold the
// same sockets meanwhile, so the kernel's accept queue is never without a
// process; the old one stops accepting only once the new one accepts.
//
// cloudflare/tableflip implements a handover too, but for a process that
// upgrades itself: the running process starts its successor (its own
// executable path, its own arguments) on a signal and passes the sockets
// by inheritance. A gwc configuration change is a different binary,
// possibly at another path, started by systemd, a script or an operator
// with its own flags, so the successor must be the one that asks: the
// protocol above, over the standard library's SCM_RIGHTS support.

// handoverProtocol is the version of the exchange above; the two processes
// must speak the same one.
const handoverProtocol = 1

// handoverTimeout bounds each step of the exchange except waiting for the
// new process to become ready.
const handoverTimeout = 10 * time.Second

// maxHandoverFDs bounds the descriptors one handover carries.
const maxHandoverFDs = 512

type handoverMsg struct {
	Protocol int              `json:"protocol,omitempty"`
	Version  string           `json:"version,omitempty"`
	Digest   string           `json:"digest,omitempty"`
	PID      int              `json:"pid,omitempty"`
	Sockets  []handoverSocket `json:"sockets,omitempty"`
	Ready    bool             `json:"ready,omitempty"`
	Draining bool             `json:"draining,omitempty"`
	Error    string           `json:"error,omitempty"`
}

type handoverSocket struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// handoverOptions are the flags of the handover.
type handoverOptions struct {
	socket   string // --handover-socket
	takeover string // --takeover
}

func (o *handoverOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.socket, "handover-socket", "",
		"serve handovers on the Unix socket `PATH` (made mode 0600): a new ingress started with --takeover PATH receives this one's listening sockets, and this one drains and exits 0")
	fs.StringVar(&o.takeover, "takeover", "",
		"take the listening sockets over from the ingress serving handovers on the Unix socket `PATH`, then tell it to drain; "+
			"ports it does not have are bound here, and this process serves the next handover on PATH unless --handover-socket names another")
}

// socketPath is where this process serves handovers: --handover-socket, or
// the --takeover path it inherits.
func (o *handoverOptions) socketPath() string {
	if o.socket != "" {
		return o.socket
	}
	return o.takeover
}

// handoverSelf describes this process in the exchange.
func (g *gateway) handoverSelf() handoverMsg {
	return handoverMsg{Protocol: handoverProtocol, Version: runtimeVersion(), Digest: g.cfg.Digest, PID: os.Getpid()}
}

// handoverServer is the old process's side: it serves handovers on a Unix
// socket until one succeeds.
type handoverServer struct {
	g    *gateway
	path string
	ln   *net.UnixListener
	busy atomic.Bool
	// given is closed when a successor is ready: this process drains.
	given chan struct{}
	once  sync.Once
	// successorServes is set, before given is closed, when the successor
	// took the handover socket (it serves the next handover on path).
	successorServes bool
	// took names the sockets the successor serves; set before given is
	// closed.
	took map[string]bool
}

// serve answers handovers until the listener closes.
func (h *handoverServer) serve() {
	for {
		c, err := h.ln.AcceptUnix()
		if err != nil {
			return
		}
		go h.handle(c)
	}
}

// close stops serving handovers. The socket file is removed unless
// another process serves it (keepFile): the successor, or the process this
// one failed to take over from.
func (h *handoverServer) close(keepFile bool) {
	h.ln.SetUnlinkOnClose(!keepFile)
	h.ln.Close()
}

// socketFiles returns duplicates of every listening socket, described, for
// a successor: the Gateway listeners, the status and admin servers', and
// the handover socket itself.
func (g *gateway) socketFiles(handover *net.UnixListener) ([]handoverSocket, []*os.File, error) {
	type filer interface{ File() (*os.File, error) }
	var (
		socks []handoverSocket
		files []*os.File
	)
	add := func(name, addr string, ln net.Listener) error {
		f, ok := ln.(filer)
		if !ok {
			return fmt.Errorf("socket %s cannot be handed over", name)
		}
		file, err := f.File()
		if err != nil {
			return fmt.Errorf("socket %s: %w", name, err)
		}
		socks = append(socks, handoverSocket{Name: name, Addr: addr})
		files = append(files, file)
		return nil
	}
	var err error
	for i, ln := range g.listeners {
		l := &g.cfg.Listeners[i]
		err = errors.Join(err, add(socketName(l), g.opts.addrFor(l), ln))
	}
	if g.statusLn != nil {
		err = errors.Join(err, add("status", g.opts.statusAddr, g.statusLn))
	}
	if g.adminLn != nil {
		err = errors.Join(err, add("admin", g.opts.adminAddr, g.adminLn))
	}
	err = errors.Join(err, add("handover", g.opts.handover.socketPath(), handover))
	if len(files) > maxHandoverFDs {
		err = errors.Join(err, fmt.Errorf("%d sockets, more than %d", len(files), maxHandoverFDs))
	}
	return socks, files, err
}

func writeMsg(c net.Conn, m handoverMsg) error {
	data, _ := json.Marshal(m)
	_, err := c.Write(append(data, '\n'))
	return err
}

// readLine reads one line of at most 64 KiB.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, more, err := br.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, part...)
		if len(line) > 64<<10 {
			return nil, errors.New("message too long")
		}
		if !more {
			return line, nil
		}
	}
}
