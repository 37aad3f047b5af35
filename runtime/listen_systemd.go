//go:build unix

package runtime

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// systemd socket activation: with a .socket unit, systemd binds the ports
// and keeps them bound across restarts of the service, so a restart queues
// connections instead of refusing them. It passes the sockets as file
// descriptors 3, 4, ... and describes them in the environment
// (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES). The protocol
// is these few lines; coreos/go-systemd's activation package, which does
// the same, is not among the modules this project may use.

// listenFDsStart is SD_LISTEN_FDS_START.
const listenFDsStart = 3

// systemdSockets returns the sockets systemd passed to this process, or nil
// when it passed none. Like sd_listen_fds(unset_environment=1) it removes
// the variables, so that a process this one starts does not take them for
// its own.
func systemdSockets() (*inherited, error) {
	pid, nfds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if nfds == "" {
		return nil, nil
	}
	if pid != strconv.Itoa(os.Getpid()) {
		return nil, nil // meant for another process (the variables leaked)
	}
	n, err := strconv.Atoi(nfds)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("systemd socket activation: LISTEN_FDS=%q is not a positive number", nfds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
		if len(nameList) != n {
			return nil, fmt.Errorf("systemd socket activation: LISTEN_FDNAMES names %d sockets, LISTEN_FDS says %d", len(nameList), n)
		}
	}
	in := &inherited{from: "systemd"}
	for i := range n {
		fd := listenFDsStart + i
		name := "unknown" // systemd's name for a socket FileDescriptorName does not set
		if nameList != nil {
			name = nameList[i]
		}
		syscall.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own duplicate
		if err != nil {
			for _, s := range in.socks {
				s.ln.Close()
			}
			return nil, fmt.Errorf("systemd socket activation: file descriptor %d (%s) is not a listening stream socket: %w", fd, name, err)
		}
		in.socks = append(in.socks, &inheritedSocket{name: name, ln: ln})
	}
	return in, nil
}
