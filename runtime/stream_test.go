package runtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestResponseStreams checks that the proxy passes on part of a response
// body while the upstream holds back the rest, with and without a
// Content-Length: the upstream sends the rest only once the client has read
// the first part, so a proxy that buffered the body would never finish (the
// 10s bounds turn that into a failure, not a timing assertion).
func TestResponseStreams(t *testing.T) {
	for _, known := range []bool{true, false} {
		t.Run("content-length="+strconv.FormatBool(known), func(t *testing.T) {
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if known {
					w.Header().Set("Content-Length", "10")
				}
				io.WriteString(w, "first")
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				io.WriteString(w, "-rest")
			}))
			defer up.Close()
			g := startGateway(t, oneRoute(t, []Cluster{staticCluster("a", hostPort(up))}))
			req, _ := http.NewRequest("GET", "http://"+g.addr[80]+"/", nil)
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := make(chan string, 1)
			go func() {
				buf := make([]byte, 5)
				n, _ := io.ReadFull(resp.Body, buf)
				got <- string(buf[:n])
			}()
			select {
			case first := <-got:
				if first != "first" {
					t.Fatalf("first part %q, want %q", first, "first")
				}
			case <-time.After(10 * time.Second):
				close(release)
				t.Fatal("the first part of the body did not reach the client while the upstream held back the rest")
			}
			close(release)
			rest, err := io.ReadAll(resp.Body)
			if err != nil || string(rest) != "-rest" {
				t.Errorf("rest %q, %v", rest, err)
			}
		})
	}
}
