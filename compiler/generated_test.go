package compiler_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/gwc-dev/gwc/codegen"
	"github.com/gwc-dev/gwc/compiler/ir"
)

// The archives of TestGolden that compile also hold want/config.go, the
// source gwc generates for them, as sqlc's end-to-end tests hold generated
// code: a change to the lowering or the printer shows in review as a diff
// of the program. -update rewrites it. (TestGolden, which runs first,
// rewrites the rest of each archive.)

const generatedGolden = "want/config.go"

// TestGeneratedGolden generates each compiling archive's config.go and
// compares it with want/config.go.
func TestGeneratedGolden(t *testing.T) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	for i, a := range archives {
		archives[i], _ = filepath.Abs(a) // each subtest changes directory
	}
	n := 0
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := compileInputs(t, ar)
			var got []byte
			if cfg != nil {
				n++
				got = generated(t, cfg)["config.go"]
			}
			var want []byte
			var files []txtar.File
			for _, f := range ar.Files {
				if f.Name == generatedGolden {
					want = f.Data
					continue
				}
				files = append(files, f)
			}
			if *update {
				if got != nil {
					files = append(files, txtar.File{Name: generatedGolden, Data: got})
				}
				ar.Files = files
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("generated config.go differs from %s (go test ./compiler -update rewrites it):\n%s", generatedGolden, firstDifference(got, want))
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d archives compile; the generated goldens cover too little", n)
	}
}

// compileInputs runs the pipeline on the archive's inputs as gwc build
// does; nil when they do not build.
func compileInputs(t *testing.T, ar *txtar.Archive) *ir.Config {
	t.Helper()
	return runArchive(t, ar).Config
}

func generated(t *testing.T, cfg *ir.Config) map[string][]byte {
	t.Helper()
	files, err := codegen.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Name] = f.Data
	}
	return out
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

// TestGeneratedGoldensServe builds the golden config.go of a few archives,
// as it stands in the archive, into real ingress binaries and sends each a
// request it answers itself (no upstream is needed, so no port but the
// ingress's own ephemeral ones is touched).
func TestGeneratedGoldensServe(t *testing.T) {
	for _, c := range []struct {
		archive string
		port    int // the Gateway port to send to
		method  string
		host    string
		path    string
		// declared is a Content-Length sent without its body: the
		// ingress must answer from the headers alone.
		declared int
		status   int
		check    func(*http.Response, string) error
	}{
		{archive: "actions", port: 8080, method: "GET", host: "shop.example.com", path: "/teapot", status: 418,
			check: bodyIs("short and stout")},
		{archive: "actions", port: 8080, method: "GET", host: "shop.example.com", path: "/OLD/x?q=1", status: 301,
			check: locationIs("https://shop.example.com:8080/new/x?q=1")},
		{archive: "coolstore", port: 80, method: "GET", host: "nobody.example.com", path: "/", status: 404},
		{archive: "body_limit", port: 80, method: "POST", host: "b.example.com", path: "/upload", declared: 600_000, status: 413},
	} {
		t.Run(c.archive+c.path, func(t *testing.T) {
			ar, err := txtar.ParseFile(filepath.Join("testdata", c.archive+".txtar"))
			if err != nil {
				t.Fatal(err)
			}
			var golden []byte
			for _, f := range ar.Files {
				if f.Name == generatedGolden {
					golden = f.Data
				}
			}
			if golden == nil {
				t.Fatalf("%s has no %s", c.archive, generatedGolden)
			}
			wd, _ := os.Getwd()
			cfg := compileInputs(t, ar)
			t.Chdir(wd)
			if cfg == nil {
				t.Fatalf("%s does not compile", c.archive)
			}
			files := []codegen.File{{Name: "main.go", Data: generated(t, cfg)["main.go"]}, {Name: "config.go", Data: golden}}
			bin := filepath.Join(t.TempDir(), "ingress")
			if err := codegen.Build(context.Background(), files, bin, ""); err != nil {
				t.Fatal(err)
			}
			addr := serveBinary(t, bin, c.port)
			conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n", c.method, c.path, c.host)
			if c.declared > 0 {
				head += fmt.Sprintf("Content-Length: %d\r\n", c.declared)
			}
			if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s%s: %d %q, want %d", c.method, c.host, c.path, resp.StatusCode, b, c.status)
			}
			if c.check != nil {
				if err := c.check(resp, string(b)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func bodyIs(want string) func(*http.Response, string) error {
	return func(_ *http.Response, body string) error {
		if body != want {
			return fmt.Errorf("body %q, want %q", body, want)
		}
		return nil
	}
}

func locationIs(want string) func(*http.Response, string) error {
	return func(resp *http.Response, _ string) error {
		if got := resp.Header.Get("Location"); got != want {
			return fmt.Errorf("Location %q, want %q", got, want)
		}
		return nil
	}
}

var listenerBound = regexp.MustCompile(`msg="listener bound" port=(\d+) addr=(\S+)`)

// serveBinary runs an ingress binary with gatewayPort on an ephemeral
// loopback port until the test ends, and returns that port's address.
func serveBinary(t *testing.T, bin string, gatewayPort int) string {
	t.Helper()
	cmd := exec.Command(bin, "--status-addr", "", "--admin-addr", "", "--drain-timeout", "5s",
		"--listen", fmt.Sprintf("%d=127.0.0.1:0", gatewayPort))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	found := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		addr := ""
		for sc.Scan() {
			line := sc.Text()
			log.WriteString(line + "\n")
			if m := listenerBound.FindStringSubmatch(line); m != nil && m[1] == fmt.Sprint(gatewayPort) {
				addr = m[2]
			}
			if strings.Contains(line, "msg=ready") && addr != "" {
				found <- addr
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case addr := <-found:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("listener address %q: %v", addr, err)
		}
		return addr
	case <-exited:
		t.Fatalf("ingress exited before it was ready:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("ingress not ready after 30s")
	}
	return ""
}
