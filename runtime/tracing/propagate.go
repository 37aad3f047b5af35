package tracing

import (
	"encoding/hex"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// incoming is the trace context a request arrived with.
type incoming struct {
	// parent is the caller's span; invalid when there is none.
	parent trace.SpanContext
	// decided says the caller made the sampling decision (W3C's flag,
	// B3's sampling); sample is that decision.
	decided, sample bool
	// bad says a trace header is present but cannot be parsed: Envoy
	// then makes no span.
	bad bool
}

// extract reads h's trace context. Both formats are read; the provider's
// own wins when both arrive (Envoy's OpenTelemetry tracer reads W3C, its
// Zipkin tracer B3 first), the other is the fallback.
func extract(h http.Header, zipkin bool) incoming {
	read := []func(http.Header) (incoming, bool){readW3C, readB3}
	if zipkin {
		read[0], read[1] = read[1], read[0]
	}
	for _, f := range read {
		if in, present := f(h); present {
			return in
		}
	}
	return incoming{}
}

// readW3C reads traceparent and tracestate (W3C Trace Context level 1:
// version-traceid-parentid-flags, lower-case hex; version ff and all-zero
// ids are invalid; a future version may append fields after a "-").
func readW3C(h http.Header) (incoming, bool) {
	v, ok := h["Traceparent"]
	if !ok {
		return incoming{}, false
	}
	bad := incoming{bad: true}
	if len(v) != 1 {
		return bad, true
	}
	s := v[0]
	if len(s) < 55 || (len(s) > 55 && s[55] != '-') || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return bad, true
	}
	ver, ok1 := lowerHex(s[0:2])
	tid, ok2 := lowerHex(s[3:35])
	sid, ok3 := lowerHex(s[36:52])
	flags, ok4 := lowerHex(s[53:55])
	if !ok1 || !ok2 || !ok3 || !ok4 || ver[0] == 0xff || (ver[0] == 0 && len(s) != 55) {
		return bad, true
	}
	cfg := trace.SpanContextConfig{Remote: true, TraceFlags: trace.TraceFlags(flags[0] & 1)}
	in := incoming{decided: true, sample: flags[0]&1 == 1}
	copy(cfg.TraceID[:], tid)
	copy(cfg.SpanID[:], sid)
	if ts := h.Values("Tracestate"); len(ts) > 0 {
		// An invalid tracestate is dropped, not the trace (W3C 3.3.1.1).
		if state, err := trace.ParseTraceState(strings.Join(ts, ",")); err == nil {
			cfg.TraceState = state
		}
	}
	in.parent = trace.NewSpanContext(cfg)
	if !in.parent.IsValid() {
		return bad, true
	}
	return in, true
}

func lowerHex(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// readB3 reads B3 as Envoy's Zipkin tracer does: the single "b3" header
// first, else X-B3-TraceId, X-B3-SpanId (both or neither), X-B3-Sampled
// ("1", "true", "0", "false") and X-B3-Flags ("1": debug, sampled). A
// trace id is 16 or 32 hex digits; a 64-bit id is the 128-bit id with a
// zero high half.
func readB3(h http.Header) (incoming, bool) {
	bad := incoming{bad: true}
	if v, ok := h["B3"]; ok {
		if len(v) != 1 {
			return bad, true
		}
		return parseB3Single(v[0]), true
	}
	tid, okT := h["X-B3-Traceid"]
	sid, okS := h["X-B3-Spanid"]
	sampled, okD := h["X-B3-Sampled"]
	flags, okF := h["X-B3-Flags"]
	if !okT && !okS && !okD && !okF {
		return incoming{}, false
	}
	var in incoming
	switch {
	case okF && len(flags) == 1 && flags[0] == "1":
		in.decided, in.sample = true, true
	case okD:
		if len(sampled) != 1 {
			return bad, true
		}
		switch sampled[0] {
		case "1", "true", "d":
			in.decided, in.sample = true, true
		case "0", "false":
			in.decided = true
		default:
			return bad, true
		}
	}
	if okT != okS {
		return bad, true
	}
	if !okT {
		return in, true
	}
	if len(tid) != 1 || len(sid) != 1 {
		return bad, true
	}
	sc, ok := b3Context(tid[0], sid[0], in)
	if !ok {
		return bad, true
	}
	in.parent = sc
	return in, true
}

// parseB3Single reads "b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]"
// or "b3: {sampling}".
func parseB3Single(s string) incoming {
	bad := incoming{bad: true}
	var in incoming
	sampling := func(v string) bool {
		switch v {
		case "1", "d":
			in.decided, in.sample = true, true
		case "0":
			in.decided = true
		default:
			return false
		}
		return true
	}
	parts := strings.Split(s, "-")
	if len(parts) == 1 {
		if !sampling(parts[0]) {
			return bad
		}
		return in
	}
	if len(parts) > 4 || (len(parts) >= 3 && !sampling(parts[2])) {
		return bad
	}
	if len(parts) == 4 {
		if _, ok := lowerHex(parts[3]); !ok || len(parts[3]) != 16 {
			return bad
		}
	}
	sc, ok := b3Context(parts[0], parts[1], in)
	if !ok {
		return bad
	}
	in.parent = sc
	return in
}

// b3Context is the remote span context of B3 ids; without a sampling
// decision the trace is not forced either way (Envoy decides).
func b3Context(traceID, spanID string, in incoming) (trace.SpanContext, bool) {
	if len(traceID) != 16 && len(traceID) != 32 || len(spanID) != 16 {
		return trace.SpanContext{}, false
	}
	tid, ok1 := lowerHex(strings.ToLower(traceID))
	sid, ok2 := lowerHex(strings.ToLower(spanID))
	if !ok1 || !ok2 {
		return trace.SpanContext{}, false
	}
	cfg := trace.SpanContextConfig{Remote: true}
	copy(cfg.TraceID[16-len(tid):], tid)
	copy(cfg.SpanID[:], sid)
	if in.sample {
		cfg.TraceFlags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// injectW3C writes the gateway span as the upstream's parent, as Envoy's
// OpenTelemetry tracer does: traceparent replaced, tracestate kept.
func injectW3C(h http.Header, sc trace.SpanContext) {
	flags := "00"
	if sc.IsSampled() {
		flags = "01"
	}
	h["Traceparent"] = []string{"00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + flags}
	if ts := sc.TraceState().String(); ts != "" {
		h["Tracestate"] = []string{ts}
	}
}

// injectB3 writes B3 multi headers, as Envoy's Zipkin tracer does; a
// single b3 header that came in is removed so the upstream sees one
// context. parent is the caller's span id, if any.
func injectB3(h http.Header, sc trace.SpanContext, parent trace.SpanID) {
	tid := sc.TraceID().String()
	if strings.HasPrefix(tid, "0000000000000000") {
		tid = tid[16:] // a 64-bit trace id stays 64-bit
	}
	h["X-B3-Traceid"] = []string{tid}
	h["X-B3-Spanid"] = []string{sc.SpanID().String()}
	if parent.IsValid() {
		h["X-B3-Parentspanid"] = []string{parent.String()}
	} else {
		delete(h, "X-B3-Parentspanid")
	}
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	h["X-B3-Sampled"] = []string{sampled}
	delete(h, "B3")
	delete(h, "X-B3-Flags")
}
