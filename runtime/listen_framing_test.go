package runtime

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

const smuggle = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"0\r\n\r\n" +
	"GET /smuggled HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"

// recorder is a backend that records the paths it serves.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	rec.mu.Lock()
	rec.paths = append(rec.paths, r.URL.Path)
	rec.mu.Unlock()
	io.WriteString(w, "ok")
}

func (rec *recorder) got() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.paths)
}

func framingGateway(t *testing.T) (*testGateway, *recorder) {
	rec := &recorder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rec}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return startGateway(t, oneRoute(t, []Cluster{staticCluster("rec", ln.Addr().String())})), rec
}

// expectOne asserts the raw exchange produced exactly one response with the
// status and body, and a closed connection.
func expectOne(t *testing.T, name, out string, closed bool, status int, body string) {
	t.Helper()
	rs := responses(t, out)
	if len(rs) != 1 {
		t.Fatalf("%s: %d responses, want 1: %q", name, len(rs), out)
	}
	b, _ := io.ReadAll(rs[0].Body)
	if rs[0].StatusCode != status || (body != "" && string(b) != body) {
		t.Errorf("%s: %d %q, want %d %q", name, rs[0].StatusCode, b, status, body)
	}
	if !closed {
		t.Errorf("%s: connection left open", name)
	}
}

// headers returns n header lines.
func headers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-H%d: v\r\n", i)
	}
	return b.String()
}

func TestStrictFraming(t *testing.T) {
	g, rec := framingGateway(t)
	tests := []struct {
		name   string
		data   string
		status int
		body   string
	}{
		// Envoy: 400 and close; the smuggled request is never served.
		{"content-length with chunked", smuggle, 400, "Bad Request"},
		{"content-length with chunked, upper case", strings.ReplaceAll(smuggle, "Transfer-Encoding: chunked", "TRANSFER-ENCODING: Chunked"), 400, "Bad Request"},
		{"obs-fold", "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 400, "Bad Request"},
		{"too many headers", "GET /p HTTP/1.1\r\nHost: h\r\n" + headers(100) + "\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 431, ""},
		// net/http's own answers, the same as Envoy's.
		{"unknown transfer coding", "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 501, ""},
		{"two content lengths", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, ""},
		{"bad content length", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello", 400, ""},
		// Framing errors in a chunked body: Envoy answers 400.
		{"bad chunk size", "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 400, "Bad Request"},
		{"bare LF chunk line", "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 400, "Bad Request"},
	}
	for _, tt := range tests {
		out, closed := raw(t, g.addr[80], tt.data)
		expectOne(t, tt.name, out, closed, tt.status, tt.body)
	}
	for _, p := range rec.got() {
		if p == "/smuggled" {
			t.Errorf("the backend served a smuggled request: %q", rec.got())
		}
	}
	// Every refusal is counted, as Envoy counts codec errors: response
	// flag DPE, with the status it answered.
	want := map[string]float64{"400": 7, "431": 1, "501": 1}
	got := map[string]float64{}
	for _, m := range scrape(t, g.status)["istio_requests_total"].GetMetric() {
		if label(m, "response_flags") == "DPE" {
			got[label(m, "response_code")] += m.GetCounter().GetValue()
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("istio_requests_total with flag DPE by code: %v, want %v", got, want)
	}
}

// A request after one with an Upgrade header the gateway does not switch
// is judged as on a fresh connection: one parser, whatever came before.
func TestFramingAfterUnswitchedUpgrade(t *testing.T) {
	g, rec := framingGateway(t)
	first := "GET /up HTTP/1.1\r\nHost: h\r\nUpgrade: foo\r\n\r\n"
	for name, next := range map[string]string{
		"content-length with chunked": smuggle,
		"obs-fold":                    "GET /p HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"too many headers":            "GET /p HTTP/1.1\r\nHost: h\r\n" + headers(120) + "\r\n",
		"padded transfer-encoding":    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding:" + strings.Repeat(" ", 300) + "chunked\r\n\r\n0\r\n\r\n",
	} {
		out, closed := raw(t, g.addr[80], first+next)
		rs := responses(t, out)
		if len(rs) != 2 || rs[0].StatusCode != 200 || rs[1].StatusCode/100 != 4 || !closed {
			var codes []int
			for _, r := range rs {
				codes = append(codes, r.StatusCode)
			}
			t.Errorf("%s after Upgrade: foo: statuses %v (closed %v), want [200 4xx] and closed", name, codes, closed)
		}
	}
	if got := rec.got(); !slices.Equal(got, []string{"/up", "/up", "/up", "/up"}) {
		t.Errorf("backend served %q, want only the first request of each connection", got)
	}
}

// Well-formed pipelined requests keep their connection.
func TestPipelinedRequestsKeepConnection(t *testing.T) {
	g, rec := framingGateway(t)
	stream := "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world" +
		"\r\n" + // a stray CRLF after a POST, which net/http tolerates
		"POST /3 HTTP/1.1\r\nHost: h\r\ntransfer-encoding:  chunked \r\n\r\n5;ext=\"a;b\"\r\nhello\r\n6 \r\n world\r\n0\r\n\r\n" +
		// 100 header lines, Envoy's limit, some long.
		"GET /4?q=1 HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-Long: "+strings.Repeat("v", 300)+"\r\n", 3) + headers(96) + "\r\n" +
		"GET /5 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	out, closed := raw(t, g.addr[80], stream)
	rs := responses(t, out)
	if len(rs) != 5 || !closed {
		t.Fatalf("%d responses (closed %v), want 5: %q", len(rs), closed, out)
	}
	for i, r := range rs[:4] {
		if r.StatusCode != 200 || r.Close {
			t.Errorf("response %d: %d, close %v; want 200 on a kept connection", i+1, r.StatusCode, r.Close)
		}
	}
	if want := []string{"/1", "/2", "/3", "/4", "/5"}; !slices.Equal(rec.got(), want) {
		t.Errorf("backend served %q, want %q", rec.got(), want)
	}
}
