package deadport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestReservedPortRefusesAndStaysTaken(t *testing.T) {
	port := Reserve(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("a connection to the reserved port was accepted")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial: %v, want connection refused", err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatal("another listener could take the reserved port")
	}
}
