package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

// startTimeout bounds the handshake and the Configure call.
const startTimeout = 10 * time.Second

// instance is one running plugin process.
type instance struct {
	client   *goplugin.Client
	filter   *sdk.Client
	response bool // the plugin has a response hook
}

// launch checks the executable, starts it, completes the handshake and
// configures it. Errors say why, in words an operator can act on.
func launch(s *Spec, log *slog.Logger) (*instance, error) {
	fi, err := os.Stat(s.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("executable %s does not exist", s.Path)
		}
		return nil, fmt.Errorf("executable %s: %w", s.Path, err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s is not an executable file (mode %v)", s.Path, fi.Mode())
	}
	cmd := exec.Command(s.Path)
	dieWithParent(cmd)
	cfg := &goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          goplugin.PluginSet{sdk.PluginName: &sdk.GRPCPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     startTimeout,
		Stderr:           &stderrLog{log: log.With("plugin", s.Name)},
		// go-plugin's Serve replaces the plugin's os.Stdout and os.Stderr
		// with pipes it streams back over gRPC.
		SyncStdout:  &stderrLog{log: log.With("plugin", s.Name, "stream", "stdout")},
		SyncStderr:  &stderrLog{log: log.With("plugin", s.Name)},
		Logger:      hclog.NewNullLogger(),
		SkipHostEnv: false,
	}
	var want []byte
	if s.SHA256 != "" {
		want, err = hex.DecodeString(s.SHA256)
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("sha256 %q is not 64 hex digits", s.SHA256)
		}
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	c := goplugin.NewClient(cfg)
	rpc, err := c.Client()
	if err != nil {
		c.Kill()
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("sha256 of %s is %s, want %s: refusing to start it", s.Path, fileSum(s.Path), s.SHA256)
		}
		return nil, fmt.Errorf("starting %s: %w", s.Path, handshakeError(err))
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("connecting to %s: %w", s.Path, err)
	}
	filter := raw.(*sdk.Client)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	reply, err := filter.Configure(ctx, s.Config)
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("configuring: %w", err)
	}
	return &instance{client: c, filter: filter, response: reply.Response}, nil
}

func fileSum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unreadable"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unreadable"
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stderrLog logs each line a plugin writes to stderr. go-plugin's own
// debug lines (JSON from its logger) are dropped; the plugin's lines are
// kept as they are.
type stderrLog struct{ log *slog.Logger }

func (s *stderrLog) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(p, []byte{'\n'}) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 || bytes.HasPrefix(line, []byte(`{"@level":"debug"`)) || bytes.HasPrefix(line, []byte(`{"@level":"trace"`)) {
			continue
		}
		s.log.Info("plugin stderr", "line", string(line))
	}
	return len(p), nil
}

// handshakeError shortens go-plugin's multi-line handshake failures to
// one line an operator can act on.
func handshakeError(err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "Unrecognized remote plugin message"):
		return errors.New("it exited or wrote something else than the handshake: not a gwc plugin, or built for another platform, or it failed at start (its stderr is logged above)")
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("no handshake within %s", startTimeout)
	}
	return err
}
