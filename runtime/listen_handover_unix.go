//go:build unix

package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// The handover's Unix side: descriptors travel in SCM_RIGHTS messages.

// takeover is the new process's side of the exchange once the sockets are
// received.
type takeover struct {
	path string
	conn *net.UnixConn
	old  handoverMsg
	rd   *fdReader
	// taken names the sockets this process serves, for the old one.
	taken []handoverSocket
}

// takeOver connects to the ingress serving handovers on path and receives
// its sockets.
func (g *gateway) takeOver(path string) (*inherited, *takeover, error) {
	c, err := net.DialTimeout("unix", path, handoverTimeout)
	if err != nil {
		return nil, nil, takeoverDialError(path, err)
	}
	conn := c.(*net.UnixConn)
	t := &takeover{path: path, conn: conn, rd: &fdReader{c: conn}}
	fail := func(err error) (*inherited, *takeover, error) {
		conn.Close()
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(handoverTimeout))
	if err := writeMsg(conn, g.handoverSelf()); err != nil {
		return fail(fmt.Errorf("takeover %s: %w", path, err))
	}
	line, fds, err := t.rd.read()
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "handover")
	}
	defer func() {
		for _, f := range files {
			f.Close() // the listeners hold their own duplicates
		}
	}()
	if err != nil {
		return fail(fmt.Errorf("takeover %s: no answer from a gwc ingress (is it one, started with --handover-socket?): %w", path, err))
	}
	if err := json.Unmarshal(line, &t.old); err != nil || t.old.Protocol == 0 {
		return fail(fmt.Errorf("takeover %s: the process there does not speak gwc's handover protocol (answered %.60q)", path, line))
	}
	if t.old.Error != "" {
		return fail(fmt.Errorf("takeover %s: the running ingress (pid %d) refused: %s", path, t.old.PID, t.old.Error))
	}
	if t.old.Protocol != handoverProtocol {
		return fail(fmt.Errorf("takeover %s: the running ingress (pid %d, gwc %s) speaks handover protocol %d, this binary %d; "+
			"stop it and start this one, or build both with the same gwc release", path, t.old.PID, t.old.Version, t.old.Protocol, handoverProtocol))
	}
	if len(files) != len(t.old.Sockets) {
		return fail(fmt.Errorf("takeover %s: received %d sockets for the %d described", path, len(files), len(t.old.Sockets)))
	}
	in := &inherited{from: "handover"}
	for i, f := range files {
		ln, err := net.FileListener(f)
		if err != nil {
			for _, s := range in.socks {
				s.ln.Close()
			}
			return fail(fmt.Errorf("takeover %s: socket %s: %w", path, t.old.Sockets[i].Name, err))
		}
		in.socks = append(in.socks, &inheritedSocket{name: t.old.Sockets[i].Name, addr: t.old.Sockets[i].Addr, ln: ln})
	}
	conn.SetDeadline(time.Time{})
	g.log.Info("taking over", "from_pid", t.old.PID, "from_version", t.old.Version, "from_digest", t.old.Digest,
		"version", runtimeVersion(), "digest", g.cfg.Digest, "sockets", len(in.socks), "protocol", handoverProtocol)
	return in, t, nil
}

// takeoverDialError explains why nothing answered on path.
func takeoverDialError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("takeover %s: no such socket; is the running ingress started with --handover-socket %s?", path, path)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("takeover %s: permission denied; the socket is mode 0600: run as the user that runs the ingress", path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("takeover %s: no process listens there (not a socket, or the ingress that made it has exited)", path)
	}
	return fmt.Errorf("takeover %s: %w", path, err)
}

// ready tells the old process this one serves, and waits for it to confirm
// that it drains.
func (t *takeover) ready(g *gateway) {
	defer t.conn.Close()
	t.conn.SetDeadline(time.Now().Add(handoverTimeout))
	err := writeMsg(t.conn, handoverMsg{Ready: true, Sockets: t.taken})
	var ack handoverMsg
	if err == nil {
		var line []byte
		if line, _, err = t.rd.read(); err == nil {
			err = json.Unmarshal(line, &ack)
		}
	}
	if err != nil || !ack.Draining {
		// It went away first (a SIGTERM during the handover): it drains
		// anyway, and this process holds every socket.
		g.log.Warn("took over; the old ingress did not confirm its drain", "from_pid", t.old.PID, "err", err)
	} else {
		g.log.Info("took over; the old ingress drains", "from_pid", t.old.PID, "from_digest", t.old.Digest, "digest", g.cfg.Digest)
	}
	g.obs.metrics.handovers.WithLabelValues("taken_over", "ok").Inc()
}

// fail tells the old process this one will not serve, so that it logs why;
// it keeps serving either way.
func (t *takeover) fail(err error) {
	t.conn.SetDeadline(time.Now().Add(time.Second))
	writeMsg(t.conn, handoverMsg{Error: err.Error()})
	t.conn.Close()
}

// listenHandover binds the handover socket at path, or takes the one the
// predecessor handed over. A socket file left by an exited process is
// replaced; one a live process answers on is an error, so that two
// processes never both think they own the ports.
func listenHandover(path string, in *inherited, log *slog.Logger) (*net.UnixListener, error) {
	if ln, ok := in.take("handover", 0, path).(*net.UnixListener); ok {
		return ln, nil
	}
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("handover socket %s: another ingress serves handovers there; start this one with --takeover %s to replace it", path, path)
		}
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode()&os.ModeSocket != 0 {
			log.Info("replacing a stale handover socket", "path", path)
			os.Remove(path)
			ln, err = net.ListenUnix("unix", addr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("handover socket %s: %w", path, err)
	}
	// The descriptors it hands out are the ingress's ports: only the user
	// running it may ask.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("handover socket %s: %w", path, err)
	}
	return ln, nil
}

func (h *handoverServer) handle(c *net.UnixConn) {
	defer c.Close()
	g := h.g
	c.SetDeadline(time.Now().Add(handoverTimeout))
	br := bufio.NewReader(c)
	var hello handoverMsg
	line, err := readLine(br)
	if err == nil {
		err = json.Unmarshal(line, &hello)
	}
	if err != nil {
		g.log.Warn("handover: not a gwc takeover request", "err", err)
		return
	}
	refuse := func(why string) {
		g.log.Warn("handover refused", "new_pid", hello.PID, "new_version", hello.Version, "new_digest", hello.Digest, "reason", why)
		g.obs.metrics.handovers.WithLabelValues("handed_over", "refused").Inc()
		m := g.handoverSelf()
		m.Error = why
		writeMsg(c, m)
	}
	if hello.Protocol != handoverProtocol {
		refuse(fmt.Sprintf("handover protocol %d, this ingress speaks %d", hello.Protocol, handoverProtocol))
		return
	}
	if g.state.Load() != stateReady {
		refuse("this ingress is not serving (starting or draining)")
		return
	}
	if !h.busy.CompareAndSwap(false, true) {
		refuse("another handover is in progress")
		return
	}
	defer h.busy.Store(false)
	socks, err := g.sendSockets(c, h.ln)
	if err != nil {
		refuse(err.Error()) // the connection may be gone, the log says why
		return
	}
	g.log.Info("handing over", "new_pid", hello.PID, "new_version", hello.Version, "new_digest", hello.Digest,
		"version", runtimeVersion(), "digest", g.cfg.Digest, "sockets", len(socks))
	// The new process may take its time to be ready (credentials,
	// readiness conditions); it closes the connection if it fails.
	c.SetDeadline(time.Time{})
	var res handoverMsg
	line, err = readLine(br)
	if err == nil {
		err = json.Unmarshal(line, &res)
	}
	switch {
	case err != nil:
		g.log.Warn("handover aborted: the new ingress went away before it was ready; still serving", "new_pid", hello.PID, "err", err)
	case !res.Ready:
		g.log.Warn("handover aborted: the new ingress failed; still serving", "new_pid", hello.PID, "err", res.Error)
	}
	if err != nil || !res.Ready {
		g.obs.metrics.handovers.WithLabelValues("handed_over", "aborted").Inc()
		return
	}
	g.obs.metrics.handovers.WithLabelValues("handed_over", "ok").Inc()
	took := map[string]bool{}
	for _, s := range res.Sockets {
		took[s.Name] = true
	}
	var closing []string
	for _, s := range socks {
		if !took[s.Name] {
			closing = append(closing, s.Name)
		}
	}
	if len(closing) > 0 {
		g.log.Info("the new ingress does not serve some sockets; this one serves them until the rest has drained, then closes them", "sockets", strings.Join(closing, ","))
	}
	h.once.Do(func() {
		h.successorServes, h.took = took["handover"], took
		close(h.given)
	})
	c.SetDeadline(time.Now().Add(handoverTimeout))
	writeMsg(c, handoverMsg{Draining: true})
}

// fdReader reads lines from a Unix connection with the file descriptors
// that come with them.
type fdReader struct {
	c   *net.UnixConn
	buf []byte
}

// read returns the next line and the descriptors received while reading
// it.
func (r *fdReader) read() ([]byte, []int, error) {
	var fds []int
	oob := make([]byte, syscall.CmsgSpace(4*maxHandoverFDs))
	chunk := make([]byte, 64<<10)
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			line := r.buf[:i]
			r.buf = r.buf[i+1:]
			return line, fds, nil
		}
		if len(r.buf) > 64<<10 {
			return nil, fds, errors.New("message too long")
		}
		n, oobn, flags, _, err := r.c.ReadMsgUnix(chunk, oob)
		if oobn > 0 {
			got, perr := parseRights(oob[:oobn])
			fds = append(fds, got...)
			if perr != nil {
				err = errors.Join(err, perr)
			}
		}
		if flags&syscall.MSG_CTRUNC != 0 {
			err = errors.Join(err, errors.New("too many file descriptors"))
		}
		r.buf = append(r.buf, chunk[:n]...)
		if err != nil {
			return nil, fds, err
		}
		if n == 0 {
			return nil, fds, errors.New("connection closed")
		}
	}
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		for _, fd := range got {
			syscall.CloseOnExec(fd)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// sendSockets sends this process's description and its listening sockets
// on c. The duplicates it sends are closed before it returns, so that a
// socket nobody else took closes with this process's listener.
func (g *gateway) sendSockets(c *net.UnixConn, handover *net.UnixListener) ([]handoverSocket, error) {
	socks, files, err := g.socketFiles(handover)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	fds := make([]int, len(files))
	for i, f := range files {
		// Not f.Fd(): it would turn the socket, shared with this
		// process's listener, to blocking mode.
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Control(func(fd uintptr) { fds[i] = int(fd) })
		}
		if err != nil {
			return nil, err
		}
	}
	m := g.handoverSelf()
	m.Sockets = socks
	data, _ := json.Marshal(m)
	if _, _, err := c.WriteMsgUnix(append(data, '\n'), syscall.UnixRights(fds...), nil); err != nil {
		return nil, fmt.Errorf("sending the sockets: %w", err)
	}
	return socks, nil
}
