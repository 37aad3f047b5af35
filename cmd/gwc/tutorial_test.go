package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var updateTutorial = flag.Bool("update", false, "rewrite the outputs in docs/tutorial.md that no longer match")

// tutorialStep is one "$ command" of a console block of the tutorial and
// the output shown under it: lines [first, end) of the page.
type tutorialStep struct {
	cmd         string
	want        string
	first, end  int
	line        int // of the command, for messages
	background  bool
	waitAddress []string
}

var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// parseTutorial reads the console blocks of the page: each "$ " line (with
// its "\" continuations) is a command, the lines up to the next command or
// the block's end its output.
func parseTutorial(lines []string) []tutorialStep {
	var steps []tutorialStep
	in := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case !in && l == "```console":
			in = true
		case in && l == "```":
			in = false
			if n := len(steps); n > 0 && steps[n-1].end < 0 {
				steps[n-1].end = i
			}
		case in && strings.HasPrefix(l, "$ "):
			if n := len(steps); n > 0 && steps[n-1].end < 0 {
				steps[n-1].end = i
			}
			s := tutorialStep{cmd: strings.TrimPrefix(l, "$ "), line: i + 1, end: -1}
			for strings.HasSuffix(lines[i], `\`) && i+1 < len(lines) {
				i++
				s.cmd += "\n" + lines[i]
			}
			s.first = i + 1
			if c, ok := strings.CutSuffix(strings.TrimSpace(s.cmd), "&"); ok {
				s.cmd, s.background = c, true
				s.waitAddress = loopbackAddr.FindAllString(c, -1)
			}
			steps = append(steps, s)
		}
	}
	for i := range steps {
		steps[i].want = strings.Join(lines[steps[i].first:steps[i].end], "\n")
	}
	return steps
}

// What changes from run to run, or with unrelated work, is not compared:
// durations, digests, request IDs, curl's version, column padding.
var tutorialVolatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`), "<duration>"},
	{regexp.MustCompile(`sha256:[0-9a-f]{64}`), "sha256:<digest>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uuid>"},
	{regexp.MustCompile(`curl/[0-9.]+`), "curl/<version>"},
	{regexp.MustCompile(`  +`), "  "},
	{regexp.MustCompile(`(?m)[ \t]+$`), ""},
}

func normalizeTutorial(s string) string {
	for _, v := range tutorialVolatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return strings.TrimRight(s, "\n")
}

// TestTutorial replays docs/tutorial.md as a newcomer would: in a fresh
// copy of this checkout, with this gwc on PATH, every command of its
// console blocks is run in order in one bash session, and each output must
// be the one the page shows (up to tutorialVolatile). Background commands
// ("... &") are waited for until the 127.0.0.1 addresses they name accept
// connections. -update rewrites the outputs that differ.
func TestTutorial(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the tutorial needs curl: apt-get install curl")
	}
	page, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(page), "\n")
	steps := parseTutorial(lines)
	if len(steps) < 20 {
		t.Fatalf("docs/tutorial.md has %d commands in console blocks; the parser lost them", len(steps))
	}

	root := t.TempDir()
	work := filepath.Join(root, "gwc")
	copyCheckout(t, work)
	bin := filepath.Join(root, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "gwc"), ".").CombinedOutput(); err != nil {
		t.Fatalf("building gwc: %v\n%s", err, out)
	}
	outs := filepath.Join(root, "out")
	if err := os.Mkdir(outs, 0o755); err != nil {
		t.Fatal(err)
	}

	var script strings.Builder
	script.WriteString("set -u\n")
	// waitfor PID ADDR...: until each address accepts a connection, for
	// 60 s at most, or until PID has exited (a zombie, state Z).
	script.WriteString(`waitfor() {
  local pid=$1 a i
  shift
  for a in "$@"; do
    for i in $(seq 600); do
      (: </dev/tcp/${a%:*}/${a##*:}) 2>/dev/null && break
      [[ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" =~ ^(Z|X|)$ ]] && return
      sleep 0.1
    done
  done
}
`)
	for i, s := range steps {
		if s.background {
			// As typed: the job is the command's own process, so that
			// "kill %N" stops it.
			fmt.Fprintf(&script, "%s >%q 2>&1 &\nwaitfor $! %s\n", s.cmd, filepath.Join(outs, fmt.Sprintf("%d.bg", i)), strings.Join(s.waitAddress, " "))
			continue
		}
		fmt.Fprintf(&script, "{\n%s\n} >%q 2>&1 </dev/null\n", s.cmd, filepath.Join(outs, fmt.Sprint(i)))
	}
	script.WriteString("kill $(jobs -p) 2>/dev/null; wait\n")

	lockDemoPorts(t)
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The background commands are in the script's process group: none
	// outlives the test.
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The script's status is its last command's: each output is judged
	// below instead.
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("the tutorial did not finish in 5 minutes:\n%s", stderr.String())
	}

	changed := false
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.background {
			continue
		}
		got, err := os.ReadFile(filepath.Join(outs, fmt.Sprint(i)))
		if err != nil {
			t.Errorf("docs/tutorial.md:%d: %s: not run: %v\n%s", s.line, s.cmd, err, stderr.String())
			continue
		}
		if normalizeTutorial(string(got)) == normalizeTutorial(s.want) {
			continue
		}
		if *updateTutorial {
			out := strings.Split(strings.TrimRight(string(got), "\n"), "\n")
			if len(got) == 0 {
				out = nil
			}
			lines = append(lines[:s.first], append(out, lines[s.end:]...)...)
			changed = true
			continue
		}
		t.Errorf("docs/tutorial.md:%d: $ %s\ngot:\n%s\nthe page shows:\n%s", s.line, s.cmd, got, s.want)
	}
	if t.Failed() {
		bg, _ := filepath.Glob(filepath.Join(outs, "*.bg"))
		for _, f := range bg {
			b, _ := os.ReadFile(f)
			t.Logf("output of background command %s:\n%s", filepath.Base(f), b)
		}
	}
	if changed {
		if err := os.WriteFile("../../docs/tutorial.md", []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// copyCheckout copies this checkout's files (tracked and untracked, not
// ignored) to dir, as a fresh clone would have them.
func copyCheckout(t *testing.T, dir string) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "-co", "--exclude-standard", "-z")
	ls.Dir = "../.."
	names, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(names), "\x00"), "\x00") {
		src := filepath.Join("../..", name)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
