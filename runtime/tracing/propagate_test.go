package tracing

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestExtract(t *testing.T) {
	const (
		w3cTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		w3cSpan  = "00f067aa0ba902b7"
		b3Trace  = "463ac35c9f6413ad48485a3953bb6124"
		b3Span   = "a2fb4a1d1a96d312"
	)
	tests := []struct {
		name    string
		zipkin  bool
		header  map[string]string
		bad     bool
		trace   string // "" for no parent
		decided bool
		sample  bool
	}{
		{name: "none"},
		{name: "w3c sampled", header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-01"}, trace: w3cTrace, decided: true, sample: true},
		{name: "w3c not sampled", header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-00"}, trace: w3cTrace, decided: true},
		{name: "w3c future version with more fields", header: map[string]string{"Traceparent": "01-" + w3cTrace + "-" + w3cSpan + "-01-extra"}, trace: w3cTrace, decided: true, sample: true},
		{name: "w3c version 00 with more fields", header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-01-extra"}, bad: true},
		{name: "w3c version ff", header: map[string]string{"Traceparent": "ff-" + w3cTrace + "-" + w3cSpan + "-01"}, bad: true},
		{name: "w3c upper case", header: map[string]string{"Traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + w3cSpan + "-01"}, bad: true},
		{name: "w3c zero trace id", header: map[string]string{"Traceparent": "00-00000000000000000000000000000000-" + w3cSpan + "-01"}, bad: true},
		{name: "w3c short", header: map[string]string{"Traceparent": "00-abc-def-01"}, bad: true},
		{name: "b3 multi", header: map[string]string{"X-B3-Traceid": b3Trace, "X-B3-Spanid": b3Span, "X-B3-Sampled": "1"}, trace: b3Trace, decided: true, sample: true},
		{name: "b3 multi undecided", header: map[string]string{"X-B3-Traceid": b3Trace, "X-B3-Spanid": b3Span}, trace: b3Trace},
		{name: "b3 debug flag", header: map[string]string{"X-B3-Traceid": b3Trace, "X-B3-Spanid": b3Span, "X-B3-Flags": "1"}, trace: b3Trace, decided: true, sample: true},
		{name: "b3 64-bit", header: map[string]string{"X-B3-Traceid": "48485a3953bb6124", "X-B3-Spanid": b3Span, "X-B3-Sampled": "0"}, trace: "000000000000000048485a3953bb6124", decided: true},
		{name: "b3 sampling only", header: map[string]string{"X-B3-Sampled": "0"}, decided: true},
		{name: "b3 span id without trace id", header: map[string]string{"X-B3-Spanid": b3Span}, bad: true},
		{name: "b3 bad sampled", header: map[string]string{"X-B3-Traceid": b3Trace, "X-B3-Spanid": b3Span, "X-B3-Sampled": "yes"}, bad: true},
		{name: "b3 single", header: map[string]string{"B3": b3Trace + "-" + b3Span + "-1-" + w3cSpan}, trace: b3Trace, decided: true, sample: true},
		{name: "b3 single deny", header: map[string]string{"B3": "0"}, decided: true},
		{name: "b3 single bad", header: map[string]string{"B3": b3Trace + "-xyz"}, bad: true},
		{name: "both, opentelemetry: w3c wins", header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-01", "B3": b3Trace + "-" + b3Span + "-0"}, trace: w3cTrace, decided: true, sample: true},
		{name: "both, zipkin: b3 wins", zipkin: true, header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-01", "B3": b3Trace + "-" + b3Span + "-0"}, trace: b3Trace, decided: true},
		{name: "zipkin falls back on w3c", zipkin: true, header: map[string]string{"Traceparent": "00-" + w3cTrace + "-" + w3cSpan + "-01"}, trace: w3cTrace, decided: true, sample: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h[k] = []string{v}
			}
			in := extract(h, tt.zipkin)
			if in.bad != tt.bad {
				t.Fatalf("bad = %t, want %t", in.bad, tt.bad)
			}
			if tt.bad {
				return
			}
			got := ""
			if in.parent.IsValid() {
				got = in.parent.TraceID().String()
			}
			if got != tt.trace || in.decided != tt.decided || in.sample != tt.sample {
				t.Errorf("trace %q decided %t sample %t, want %q %t %t", got, in.decided, in.sample, tt.trace, tt.decided, tt.sample)
			}
		})
	}
}

func TestInject(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("000000000000000048485a3953bb6124")
	sid, _ := trace.SpanIDFromHex("a2fb4a1d1a96d312")
	parent, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	h := http.Header{"B3": {"x"}, "X-B3-Flags": {"1"}}
	injectB3(h, sc, parent)
	want := map[string]string{"X-B3-Traceid": "48485a3953bb6124", "X-B3-Spanid": "a2fb4a1d1a96d312",
		"X-B3-Parentspanid": "00f067aa0ba902b7", "X-B3-Sampled": "1", "B3": "", "X-B3-Flags": ""}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	h = http.Header{}
	injectW3C(h, sc.WithTraceFlags(0))
	if got := h.Get("Traceparent"); got != "00-000000000000000048485a3953bb6124-a2fb4a1d1a96d312-00" {
		t.Errorf("traceparent %q", got)
	}
}
