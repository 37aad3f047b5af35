// Package dnsmasq runs a real DNS server, dnsmasq, on 127.0.0.1 for a
// test: it answers from a hosts file the test rewrites, with a TTL the test
// chooses, and is authoritative for the domain "test." (any other name
// there is NXDOMAIN). dnsmasq is the Debian package of that name (its
// executable alone is dnsmasq-base); a test that needs it fails, never
// skips, when it is missing.
package dnsmasq

import (
	"bufio"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one dnsmasq process.
type Server struct {
	// Addr is where it answers, UDP and TCP.
	Addr  netip.AddrPort
	hosts string
	cmd   *exec.Cmd

	mu    sync.Mutex
	reads int // "read <hosts file>" lines logged so far
	log   []string
	read  chan struct{}
}

// Start runs dnsmasq answering records (name -> addresses) with the TTL
// ttlSeconds, until t ends.
func Start(t testing.TB, ttlSeconds int, records map[string][]string) *Server {
	t.Helper()
	bin := find()
	if bin == "" {
		t.Fatal("dnsmasq not found in PATH nor /usr/sbin: install the Debian package dnsmasq, or dnsmasq-base for the executable alone (apt-get install dnsmasq-base; .ci/run installs it)")
	}
	dir := t.TempDir()
	s := &Server{hosts: filepath.Join(dir, "hosts"), read: make(chan struct{}, 1)}
	s.write(t, records)
	var lastErr string
	for range 5 { // a port picked free may be taken before dnsmasq binds it
		port := freeUDPPort(t)
		s.Addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		cmd := exec.Command(bin, "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=", "--user=",
			"--listen-address=127.0.0.1", "--bind-interfaces", fmt.Sprintf("--port=%d", port),
			"--no-resolv", "--no-hosts", "--no-poll", "--local=/test/", "--addn-hosts="+s.hosts,
			fmt.Sprintf("--local-ttl=%d", ttlSeconds), "--log-facility=-", "--log-queries")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = cmd.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting dnsmasq: %v", err)
		}
		exited := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				s.logLine(sc.Text())
			}
			close(exited)
		}()
		s.cmd = cmd
		select {
		case <-s.read:
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				cmd.Wait()
			})
			return s
		case <-exited:
			cmd.Wait()
			lastErr = s.Log()
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			cmd.Wait()
			t.Fatalf("dnsmasq did not read its hosts file within 10s:\n%s", s.Log())
		}
	}
	t.Fatalf("dnsmasq did not start:\n%s", lastErr)
	return nil
}

func find() string {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/dnsmasq", "/sbin/dnsmasq"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func (s *Server) logLine(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, line)
	if strings.Contains(line, "read "+s.hosts) {
		s.reads++
		select {
		case s.read <- struct{}{}:
		default:
		}
	}
}

// Log returns what dnsmasq logged so far: queries and answers.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// Queries counts the questions dnsmasq was asked for name.
func (s *Server) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.log {
		if strings.Contains(l, " query[") && strings.Contains(l, "] "+name+" from") {
			n++
		}
	}
	return n
}

func (s *Server) write(t testing.TB, records map[string][]string) {
	t.Helper()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(records)) {
		for _, ip := range records[name] {
			fmt.Fprintf(&b, "%s %s\n", ip, name)
		}
	}
	if err := os.WriteFile(s.hosts, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Set replaces every record and returns once dnsmasq has re-read them
// (SIGHUP re-reads the hosts file and empties the cache).
func (s *Server) Set(t testing.TB, records map[string][]string) {
	t.Helper()
	s.mu.Lock()
	before := s.reads
	s.mu.Unlock()
	s.write(t, records)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("signalling dnsmasq: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		done := s.reads > before
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-s.read:
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("dnsmasq did not re-read its hosts file:\n%s", s.Log())
}
