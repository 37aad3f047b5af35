//go:build !unix

package runtime

import (
	"errors"
	"log/slog"
	"net"
)

// Without Unix sockets' SCM_RIGHTS there is no handover: the flags are
// refused at start.

var errNoHandover = errors.New("socket handover (--takeover, --handover-socket) needs a Unix system")

type takeover struct {
	taken []handoverSocket
}

func (g *gateway) takeOver(string) (*inherited, *takeover, error) { return nil, nil, errNoHandover }

func (t *takeover) ready(*gateway) {}

func (t *takeover) fail(error) {}

func listenHandover(string, *inherited, *slog.Logger) (*net.UnixListener, error) {
	return nil, errNoHandover
}

func (h *handoverServer) handle(c *net.UnixConn) { c.Close() }
