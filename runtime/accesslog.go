package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// Access logs as Istio configures Envoy's: off by default, one line per
// request in Envoy's default text format (Istio's EnvoyTextLogFormat) or
// Istio's JSON format. Lines are formatted on the request's goroutine and
// handed to one writer goroutine through a bounded queue: a slow disk, a
// full disk or a closed pipe drops lines (counted in
// gwc_access_log_dropped_total) and never holds up a request.

// accessLogQueue is how many lines may wait for the writer, which drains
// the queue every accessLogTick: room for 800k lines a second.
const (
	accessLogQueue = 16384
	accessLogTick  = 20 * time.Millisecond
)

type accessLog struct {
	json bool
	// clusters are the cluster names, as Config.Clusters.
	clusters []string
	out      io.WriteCloser
	lines    chan []byte
	done     chan struct{}
	drops    counter
	log      *slog.Logger
	// failing is set while writes fail, so the failure is logged once.
	failing atomic.Bool
	// stopped is set by close; a request still running after the drain
	// timeout may log later, and its line is dropped.
	stopped atomic.Bool
	pool    sync.Pool
}

// counter is the part of a counter the log needs.
type counter interface{ Inc() }

// openAccessLog opens path ("-" for stdout) for appending and starts the
// writer. A path that cannot be opened is a start-up error.
func openAccessLog(path string, jsonFormat bool, drops counter, log *slog.Logger) (*accessLog, error) {
	var out io.WriteCloser
	if path == "-" {
		// A write to a closed stdout pipe would kill the process with
		// SIGPIPE; asking for the signal turns it into an EPIPE error.
		signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
		out = nopCloser{os.Stdout}
	} else {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening access log: %w", err)
		}
		out = f
	}
	a := &accessLog{json: jsonFormat, out: out, lines: make(chan []byte, accessLogQueue),
		done: make(chan struct{}), drops: drops, log: log}
	go a.run()
	return a, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// run writes the queued lines every accessLogTick. It never waits on the
// queue itself: a request's send then never has to wake a goroutine, which
// would cost more than formatting the line.
func (a *accessLog) run() {
	defer close(a.done)
	bw := bufio.NewWriterSize(a.out, 64<<10)
	t := time.NewTicker(accessLogTick)
	defer t.Stop()
	for {
		if !a.drain(bw) {
			a.flush(bw)
			a.out.Close()
			return
		}
		if bw.Buffered() > 0 {
			a.flush(bw)
		}
		<-t.C
	}
}

// drain writes what is queued; false when it met close's marker.
func (a *accessLog) drain(bw *bufio.Writer) bool {
	for {
		select {
		case line := <-a.lines:
			if line == nil {
				return false
			}
			a.write(bw, line)
		default:
			return true
		}
	}
}

func (a *accessLog) write(bw *bufio.Writer, line []byte) {
	if _, err := bw.Write(line); err != nil {
		a.failed(err)
		// bufio keeps its first error; start afresh so the log recovers
		// when the disk does.
		bw.Reset(a.out)
	}
	a.put(line)
}

func (a *accessLog) flush(bw *bufio.Writer) {
	if err := bw.Flush(); err != nil {
		a.failed(err)
		bw.Reset(a.out)
		return
	}
	if a.failing.Swap(false) {
		a.log.Info("access log writable again")
	}
}

func (a *accessLog) failed(err error) {
	a.drops.Inc()
	if !a.failing.Swap(true) {
		a.log.Warn("writing access log; dropping lines until it recovers", "err", err)
	}
}

func (a *accessLog) get() []byte {
	if b, ok := a.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 512)
}

func (a *accessLog) put(b []byte) {
	if cap(b) > 8<<10 {
		return
	}
	a.pool.Put(&b)
}

// close stops the writer after it wrote what is queued, waiting at most a
// few seconds for a stalled output. The queue is never closed, so a late
// record cannot panic.
func (a *accessLog) close() {
	if a.stopped.Swap(true) {
		return
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case a.lines <- nil:
	case <-t.C:
		return
	}
	select {
	case <-a.done:
	case <-t.C:
	}
}

// record formats one finished request and queues it.
func (a *accessLog) record(x *exchange, r *http.Request, d time.Duration, local string) {
	if a.stopped.Load() {
		a.drops.Inc()
		return
	}
	b := a.get()
	if a.json {
		b = a.appendJSON(b, x, r, d, local)
	} else {
		b = a.appendText(b, x, r, d, local)
	}
	select {
	case a.lines <- b:
	default:
		a.drops.Inc()
		a.put(b)
	}
}

// envoyTime is %START_TIME%'s default format.
const envoyTime = "2006-01-02T15:04:05.000Z"

// appendText appends Istio's default text format:
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
//	%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%
//	%CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
//	%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
//	"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%"
//	"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
//	%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
//	%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%
func (a *accessLog) appendText(b []byte, x *exchange, r *http.Request, d time.Duration, local string) []byte {
	b = append(b, '[')
	b = x.start.UTC().AppendFormat(b, envoyTime)
	b = append(b, "] \""...)
	b = appendField(b, r.Method)
	b = append(b, ' ')
	b = appendField(b, r.RequestURI)
	b = append(b, ' ')
	b = append(b, protocolOf(r)...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(x.status), 10)
	b = append(b, ' ')
	b = append(b, x.flags.String()...)
	b = append(b, ' ')
	b = append(b, x.responseDetails()...)
	b = append(b, " - \""...)
	b = append(b, failureReason(x.flags)...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, x.body.n.Load(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, x.bytesSent, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	b = append(b, ' ')
	b = appendField(b, headerValue(x.w.Header(), "X-Envoy-Upstream-Service-Time"))
	b = append(b, " \""...)
	b = appendField(b, forwardedFor(r))
	b = append(b, "\" \""...)
	b = appendField(b, headerValue(r.Header, "User-Agent"))
	b = append(b, "\" \""...)
	b = appendField(b, headerValue(r.Header, "X-Request-Id"))
	b = append(b, "\" \""...)
	b = appendField(b, r.Host)
	b = append(b, "\" \""...)
	b = appendField(b, x.upstreamHost)
	b = append(b, "\" "...)
	b = appendField(b, a.clusterName(x))
	b = append(b, " - "...)
	b = appendField(b, local)
	b = append(b, ' ')
	b = appendField(b, r.RemoteAddr)
	b = append(b, ' ')
	b = appendField(b, sniOf(r))
	// Route IDs hold spaces; the text format keeps one token per field.
	b = append(b, " -\n"...)
	return b
}

// clusterName is %UPSTREAM_CLUSTER_RAW%: the cluster the request went to.
func (a *accessLog) clusterName(x *exchange) string {
	if x.cluster < 0 || x.cluster >= len(a.clusters) {
		return ""
	}
	return a.clusters[x.cluster]
}

// appendField appends s, "-" when empty, with control characters and
// quotes escaped so a line stays one line.
func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// forwardedFor is %REQ(X-FORWARDED-FOR)% as Envoy logs it at a gateway:
// the client's header with the peer's address appended, as the proxy sends
// it upstream.
func forwardedFor(r *http.Request) string {
	ip := peerIP(r)
	prior := r.Header["X-Forwarded-For"]
	switch {
	case ip == "":
		return strings.Join(prior, ",")
	case len(prior) == 0:
		return ip
	}
	return strings.Join(prior, ",") + "," + ip
}

// protocolOf is %PROTOCOL%.
func protocolOf(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "HTTP/2"
	case 3:
		return "HTTP/3"
	}
	if r.ProtoMinor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

func sniOf(r *http.Request) string {
	if r.TLS != nil {
		return r.TLS.ServerName
	}
	return ""
}

// failureReason is %UPSTREAM_TRANSPORT_FAILURE_REASON%.
func failureReason(f respFlags) string {
	if f&flagUF != 0 {
		return "connection_failure"
	}
	return "-"
}

// appendJSON appends Istio's JSON access-log format: the same fields under
// Istio's keys, null where the text format prints "-".
func (a *accessLog) appendJSON(b []byte, x *exchange, r *http.Request, d time.Duration, local string) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		if v == "" || v == "-" {
			return append(b, "null,"...)
		}
		b = appendJSONString(b, v)
		return append(b, ',')
	}
	num := func(b []byte, key string, v int64) []byte {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, v, 10)
		return append(b, ',')
	}
	b = append(b, '{')
	b = append(b, `"start_time":"`...)
	b = x.start.UTC().AppendFormat(b, envoyTime)
	b = append(b, `",`...)
	routeID := ""
	if x.route != nil {
		routeID = x.route.ID
	}
	b = str(b, "route_name", routeID)
	b = str(b, "method", r.Method)
	b = str(b, "path", r.RequestURI)
	b = str(b, "protocol", protocolOf(r))
	b = num(b, "response_code", int64(x.status))
	// Envoy prints the flags as a string even when there are none.
	b = append(b, `"response_flags":`...)
	b = appendJSONString(b, x.flags.String())
	b = append(b, ',')
	b = str(b, "response_code_details", x.responseDetails())
	b = str(b, "connection_termination_details", "")
	b = str(b, "upstream_transport_failure_reason", failureReason(x.flags))
	b = num(b, "bytes_received", x.body.n.Load())
	b = num(b, "bytes_sent", x.bytesSent)
	b = num(b, "duration", d.Milliseconds())
	if v, err := strconv.ParseInt(headerValue(x.w.Header(), "X-Envoy-Upstream-Service-Time"), 10, 64); err == nil {
		b = num(b, "upstream_service_time", v)
	} else {
		b = str(b, "upstream_service_time", "")
	}
	b = str(b, "x_forwarded_for", forwardedFor(r))
	b = str(b, "user_agent", headerValue(r.Header, "User-Agent"))
	b = str(b, "request_id", headerValue(r.Header, "X-Request-Id"))
	b = str(b, "authority", r.Host)
	b = str(b, "upstream_host", x.upstreamHost)
	b = str(b, "upstream_cluster", a.clusterName(x))
	b = str(b, "upstream_local_address", "")
	b = str(b, "downstream_local_address", local)
	b = str(b, "downstream_remote_address", r.RemoteAddr)
	b = str(b, "requested_server_name", sniOf(r))
	b[len(b)-1] = '}'
	return append(b, '\n')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 is replaced.
func appendJSONString(b []byte, s string) []byte {
	simple := utf8.ValidString(s)
	for i := 0; simple && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			simple = false
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
