package load

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func TestHang(t *testing.T) {
	for _, s := range []string{
		"a: &x {b: *x}\n",
		"a: &x [*x]\n",
		"a: &x\n  b: *x\n",
		"&x [*x, *x]\n",
		"a: &a [1]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: &d [*c, *c, *c, *c]\ne: [*d, *d, *d, *d]\n",
		os.Getenv("IN"),
	} {
		start := time.Now()
		done := make(chan bool)
		go func() {
			l := newLoader(Options{})
			l.loadFile("fuzz.yaml", []byte(s))
			fmt.Println(len(l.res.Diags), l.res.Diags)
			close(done)
		}()
		select {
		case <-done:
			fmt.Printf("%q ok %v\n", s, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("%q hangs", s)
		}
	}
}
