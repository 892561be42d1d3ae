package worker

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// Every event a worker sends reads back as it was sent.
func TestEventRoundTrip(t *testing.T) {
	events := []Event{
		{Kind: Ready},
		{Kind: Failed, Detail: "cannot import name 'app' from 'hello'"},
		{Kind: Failed},
		{Kind: Metrics, Payload: []byte{0, 1, 2, '\n', ' ', 0xff}},
		{Kind: Metrics, Payload: []byte{}},
		{Kind: Crashed, Crash: CrashSignal, Detail: "SIGSEGV: segmentation violation"},
	}
	for r := range reasonNames {
		events = append(events, Event{Kind: Recycle, Reason: RecycleReason(r),
			Detail: RecycleReason(r).String() + " reached: words, with spaces"})
	}
	events = append(events, Event{Kind: Recycle, Reason: Deadlock})
	for _, want := range events {
		line := want.encode()
		if strings.Contains(line, "\n") {
			t.Fatalf("%+v encodes as several lines: %q", want, line)
		}
		got, err := decode(line)
		if err != nil {
			t.Errorf("decode(%q): %v", line, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v encodes as %q, which decodes as %+v", want, line, got)
		}
	}
}

// The lines as they are on the pipe: what a supervisor may get, and what it makes of it.
func TestDecode(t *testing.T) {
	for line, want := range map[string]Event{
		"ready":  {Kind: Ready},
		"failed": {Kind: Failed},
		"failed pyhost worker: inherited 1 listeners for 2 --listen addresses": {Kind: Failed,
			Detail: "pyhost worker: inherited 1 listeners for 2 --listen addresses"},
		"recycle maximum-requests maximum-requests 50 reached": {Kind: Recycle,
			Reason: MaximumRequests, Detail: "maximum-requests 50 reached"},
		"recycle memory-limit memory-limit: RSS 301 MiB > 300 MiB": {Kind: Recycle,
			Reason: MemoryLimit, Detail: "memory-limit: RSS 301 MiB > 300 MiB"},
		"recycle request-timeout a request passed --request-timeout": {Kind: Recycle,
			Reason: RequestTimeout, Detail: "a request passed --request-timeout"},
		// A reason this side does not know still asks for a replacement.
		"recycle the moon is full": {Kind: Recycle, Reason: OtherReason,
			Detail: "the moon is full"},
		"metrics AAEC": {Kind: Metrics, Payload: []byte{0, 1, 2}},
		// The first line of the Go runtime's crash reports.
		"SIGSEGV: segmentation violation": {Kind: Crashed, Crash: CrashSignal,
			Detail: "SIGSEGV: segmentation violation"},
		"SIGABRT: abort": {Kind: Crashed, Crash: CrashSignal, Detail: "SIGABRT: abort"},
		"panic: runtime error: index out of range [3] with length 3": {Kind: Crashed,
			Crash: CrashPanic, Detail: "panic: runtime error: index out of range [3] with length 3"},
		"fatal error: concurrent map writes": {Kind: Crashed, Crash: CrashFatal,
			Detail: "fatal error: concurrent map writes"},
		"goroutine 1 [running]:": {Kind: Crashed, Crash: UnknownCrash,
			Detail: "goroutine 1 [running]:"},
		"readyish": {Kind: Crashed, Detail: "readyish"},
	} {
		got, err := decode(line)
		if err != nil {
			t.Errorf("decode(%q): %v", line, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("decode(%q) = %+v, want %+v", line, got, want)
		}
	}
	if ev, err := decode("metrics not*base64"); err == nil || ev.Kind != Metrics {
		t.Errorf("a malformed metrics line decodes as %+v, %v; want a Metrics event and an error",
			ev, err)
	}
}

// A detail of several lines (a traceback) is cut to its first: one line per event.
func TestDetailOneLine(t *testing.T) {
	line := Event{Kind: Failed, Detail: "ImportError: no module named x\nTraceback ..."}.encode()
	if line != "failed ImportError: no module named x" {
		t.Errorf("encoded as %q", line)
	}
}

// The reasons' words are pyhost_worker_recycles_total's label values: dashboards and alerts
// use them, so they do not change.
func TestRecycleReasonNames(t *testing.T) {
	want := map[RecycleReason]string{OtherReason: "other", MaximumRequests: "maximum-requests",
		RestartInterval: "restart-interval", InactivityTimeout: "inactivity-timeout",
		CPUTimeLimit: "cpu-time-limit", MemoryLimit: "memory-limit",
		RequestTimeout: "request-timeout", Deadlock: "deadlock", RecycleReason(99): "other"}
	for r, name := range want {
		if got := r.String(); got != name {
			t.Errorf("RecycleReason(%d) = %q, want %q", int(r), got, name)
		}
	}
	if got := Kind(0).String(); got != "Kind(0)" {
		t.Errorf("an unknown kind prints as %q", got)
	}
}

// What a worker writes through Status is what ReadStatus gives the supervisor, in order;
// of a crash report, only its first line.
func TestStatusPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st := &Status{f: w}
	st.Ready()
	st.Recycle(CPUTimeLimit, "cpu-time-limit 1s: used 1.02s of CPU")
	if err := st.Metrics([]byte("counters")); err != nil {
		t.Fatal(err)
	}
	if err := st.Metrics(make([]byte, maxMetricsLine)); err == nil {
		t.Error("final metrics too large for a status line were sent")
	}
	_, _ = w.WriteString("\nSIGSEGV: segmentation violation\nPC=0x7f m=3 sigcode=1\n" +
		"metrics !\ngoroutine 1 [running]:\n")
	st.Close()
	var got []Event
	var errs []error
	if err := ReadStatus(r, func(ev Event, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		got = append(got, ev)
	}); err != nil {
		t.Fatal(err)
	}
	want := []Event{{Kind: Ready},
		{Kind: Recycle, Reason: CPUTimeLimit, Detail: "cpu-time-limit 1s: used 1.02s of CPU"},
		{Kind: Metrics, Payload: []byte("counters")},
		{Kind: Crashed, Crash: CrashSignal, Detail: "SIGSEGV: segmentation violation"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v\nwant %+v", got, want)
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want the one of the malformed metrics line", errs)
	}
}
