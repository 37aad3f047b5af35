package codegen

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gwc-dev/gwc/runtime"
)

func TestPrinterDurations(t *testing.T) {
	p := newPrinter(&runtime.Config{}, &notes{})
	for d, want := range map[time.Duration]string{
		10 * time.Second:        "10 * time.Second",
		1500 * time.Millisecond: "1500 * time.Millisecond",
		90 * time.Minute:        "90 * time.Minute",
		2 * time.Hour:           "2 * time.Hour",
		-1:                      "-1 * time.Nanosecond",
		1001 * time.Microsecond: "1001 * time.Microsecond",
	} {
		if got := p.duration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	if !p.imports["time"] {
		t.Error("a duration does not import time")
	}
}

// TestPrinterRefusesWhatItCannotWrite: a value the literal cannot hold
// (a prepared field, an unknown enumeration value) is an error or a
// conversion the runtime rejects, never a silent omission.
func TestPrinterRefusesWhatItCannotWrite(t *testing.T) {
	rc := &runtime.Config{
		Listeners: []runtime.Listener{{Port: 80, Protocol: "HTTP", VirtualHosts: []runtime.VirtualHost{{Domain: "a",
			Routes: []runtime.Route{{ID: "r", Clusters: []runtime.WeightedCluster{{Cluster: 0, Weight: 1}, {Cluster: 0, Weight: 2}}}}}}}},
		Clusters: []runtime.Cluster{{Name: "c"}},
	}
	if err := rc.Prepare(); err != nil {
		t.Fatal(err)
	}
	p := newPrinter(rc, &notes{})
	p.value(reflect.ValueOf(rc), false)
	if p.err == nil || !strings.Contains(p.err.Error(), "the literal cannot hold it") {
		t.Errorf("printing a prepared config: %v", p.err)
	}

	p = newPrinter(&runtime.Config{}, &notes{})
	p.value(reflect.ValueOf(runtime.ServerTLS{Mode: 9}), false)
	if p.err != nil || !strings.Contains(string(p.b), "Mode: gwcrt.TLSMode(9)") {
		t.Errorf("unknown mode: %v %s", p.err, p.b)
	}
}
