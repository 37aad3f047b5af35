//go:build unix

package runtime

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// What systemd's environment may say wrong; the socket activation itself
// is tested end to end on a built binary (cmd/gwc).
func TestSystemdEnvironment(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		pid, fds, names, want string
	}{
		{self, "two", "", `LISTEN_FDS="two" is not a positive number`},
		{self, "2", "http-80", "LISTEN_FDNAMES names 1 sockets, LISTEN_FDS says 2"},
		{"1", "2", "http-80:status", ""}, // for another process: ignored
	} {
		t.Setenv("LISTEN_PID", c.pid)
		t.Setenv("LISTEN_FDS", c.fds)
		t.Setenv("LISTEN_FDNAMES", c.names)
		in, err := systemdSockets()
		if c.want == "" && (err != nil || in != nil) || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s: %v, %v; want %q", c.pid, c.fds, c.names, in, err, c.want)
		}
		if _, set := os.LookupEnv("LISTEN_FDS"); set {
			t.Error("LISTEN_FDS left in the environment")
		}
	}
	t.Setenv("LISTEN_PID", self)
	t.Setenv("LISTEN_FDS", "0")
	code, logs := runFailing(t, oneRoute(t, []Cluster{{Name: "c"}}), "--listen", "80=127.0.0.1:0", "--status-addr", "", "--admin-addr", "")
	if code != 1 || !strings.Contains(logs, "systemd socket activation") {
		t.Errorf("a bad LISTEN_FDS: exit %d, want 1:\n%s", code, logs)
	}
}
