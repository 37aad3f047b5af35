//go:build !unix

package runtime

// systemdSockets: systemd runs on Linux only.
func systemdSockets() (*inherited, error) { return nil, nil }
