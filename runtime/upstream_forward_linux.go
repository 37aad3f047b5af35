package runtime

import (
	"net"
	"syscall"
	"unsafe"
)

// connAlive reports whether an idle upstream connection can still carry a
// request: a non-blocking peek finds nothing to read. End of stream (the
// upstream closed it), an error, or bytes nobody asked for all mean no.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	alive := true
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		alive = errno == syscall.EAGAIN || errno == syscall.EINTR
		return true
	})
	return alive && err == nil
}
