package runtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestMaxRequestBytes checks a route's body limit: a declared length over
// it is refused with 413 before the upstream sees the request, a streamed
// body is cut off where it passes the limit and answered 413, and bodies
// within the limit pass whole.
func TestMaxRequestBytes(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // the gateway cut the body off
		}
		io.WriteString(w, "got "+string(b))
	}))
	defer srv.Close()
	cfg := oneRoute(t, []Cluster{staticCluster("a", hostPort(srv))})
	cfg.Listeners[0].VirtualHosts[0].Routes[0].MaxRequestBytes = 10
	g := startGateway(t, cfg)
	url := "http://" + g.addr[80] + "/"

	send := func(body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, body)
		req.Host = "h"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := send(strings.NewReader("0123456789")); code != 200 || body != "got 0123456789" {
		t.Errorf("10 bytes: %d %q, want 200 with the body", code, body)
	}
	if code, body := send(nil); code != 200 || body != "got " {
		t.Errorf("no body: %d %q", code, body)
	}
	before := requests.Load()
	if code, body := send(strings.NewReader("0123456789A")); code != 413 || body != bodyTooLarge {
		t.Errorf("11 bytes declared: %d %q, want 413 %q", code, body, bodyTooLarge)
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("a declared length over the limit reached the upstream %d times", n)
	}
	// No Content-Length: the client streams the body chunked.
	streamed := io.MultiReader(strings.NewReader("0123456789"), strings.NewReader("0123456789"))
	if code, body := send(streamed); code != 413 || body != bodyTooLarge {
		t.Errorf("20 bytes streamed: %d %q, want 413 %q", code, body, bodyTooLarge)
	}
	if code, _ := send(io.MultiReader(strings.NewReader("01234"), strings.NewReader("56789"))); code != 200 {
		t.Errorf("10 bytes streamed: %d, want 200", code)
	}
}
