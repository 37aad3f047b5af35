// Package deadport gives tests a loopback TCP port where nothing listens
// and nothing else can start listening while the test runs: a connection
// to it is refused at once.
//
// Closing a listener to free its port is not enough: tests of other
// packages run at the same time, and one of them may be handed the same
// port by the kernel and start serving there. A socket that is bound but
// never listens keeps the port taken and still refuses connections.
package deadport

import (
	"syscall"
	"testing"
)

// Reserve returns such a port on 127.0.0.1, held until t ends.
func Reserve(t testing.TB) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("deadport: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("deadport: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("deadport: getsockname: %v", err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}
