package worker

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Kind is what one status line says.
type Kind int

const (
	// Ready: the apps to preload are loaded; the worker accepts from now on.
	Ready Kind = iota + 1
	// Failed: the worker could not start; Detail says why, in one line (its log has the rest).
	Failed
	// Recycle: the worker asks to be replaced (Reason, and Detail in words); the supervisor
	// starts a replacement and then drains it.
	Recycle
	// Metrics: the worker's final counters, once it has drained (Payload): what the
	// supervisor keeps of it after it exits.
	Metrics
	// Crashed: the first line of the Go runtime's crash report (debug.SetCrashOutput), in
	// Detail, and what it says happened (Crash). The worker does not write it: the runtime does.
	Crashed
)

// kindNames are the words that start a status line (Crashed has none: any other line is a
// crash report).
var kindNames = [...]string{Ready: "ready", Failed: "failed", Recycle: "recycle",
	Metrics: "metrics", Crashed: "crash"}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// RecycleReason is why a worker asks to be replaced; its String is the word on the status
// pipe and the reason label of pyhost_worker_recycles_total.
type RecycleReason int

const (
	OtherReason       RecycleReason = iota // a reason the reader does not know
	MaximumRequests                        // --maximum-requests (with its jitter) reached
	RestartInterval                        // --restart-interval reached
	InactivityTimeout                      // no request for --inactivity-timeout
	CPUTimeLimit                           // --cpu-time-limit of CPU used
	MemoryLimit                            // resident memory over --memory-limit
	// RequestTimeout: a request passed --request-timeout and did not unwind within
	// --interrupt-timeout; its request thread is lost until it does.
	RequestTimeout
	// Deadlock: an interpreter's GIL could not be taken for --deadlock-timeout.
	Deadlock
)

var reasonNames = [...]string{OtherReason: "other", MaximumRequests: "maximum-requests",
	RestartInterval: "restart-interval", InactivityTimeout: "inactivity-timeout",
	CPUTimeLimit: "cpu-time-limit", MemoryLimit: "memory-limit",
	RequestTimeout: "request-timeout", Deadlock: "deadlock"}

func (r RecycleReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return reasonNames[OtherReason]
}

// CrashCause is what the first line of the Go runtime's crash report says happened.
type CrashCause int

const (
	UnknownCrash CrashCause = iota
	// CrashSignal: "SIGSEGV: segmentation violation": a fatal signal outside Go code, a
	// crash in C code (an extension module, ctypes).
	CrashSignal
	CrashPanic // "panic: ...": a Go panic nobody recovered
	CrashFatal // "fatal error: ...": the Go runtime gave up (out of memory, a deadlock ...)
)

func crashCause(line string) CrashCause {
	switch {
	case strings.HasPrefix(line, "SIG"):
		return CrashSignal
	case strings.HasPrefix(line, "panic: "):
		return CrashPanic
	case strings.HasPrefix(line, "fatal error: "):
		return CrashFatal
	}
	return UnknownCrash
}

// Event is one status line, decoded.
type Event struct {
	Kind   Kind
	Reason RecycleReason // Recycle
	Crash  CrashCause    // Crashed
	// Detail is one line of words: why it failed (Failed), why it asks to be replaced, as it
	// logged it (Recycle), the crash report's first line (Crashed).
	Detail string
	// Payload is the final counters (Metrics): Prometheus's delimited protobuf encoding,
	// which this package carries without reading.
	Payload []byte
}

// maxLine bounds a status line; maxMetricsLine, the final metrics' line below it.
const (
	maxLine        = 1 << 20
	maxMetricsLine = 768 << 10
)

// encode returns e as one status line, without its newline: "ready", "failed DETAIL",
// "recycle REASON DETAIL", "metrics BASE64". Details are cut at their first newline: a
// summary, never a whole traceback (the worker logs that).
func (e Event) encode() string {
	detail, _, _ := strings.Cut(e.Detail, "\n")
	switch e.Kind {
	case Ready:
		return e.Kind.String()
	case Recycle:
		return e.Kind.String() + " " + e.Reason.String() + " " + detail
	case Metrics:
		return e.Kind.String() + " " + base64.StdEncoding.EncodeToString(e.Payload)
	case Crashed:
		return detail
	}
	if detail == "" {
		return e.Kind.String()
	}
	return e.Kind.String() + " " + detail
}

// decode reads one status line. A line that starts with no event's word is a line of a
// crash report; an error names a line whose event's word it has but not its form (the event
// then says which).
func decode(line string) (Event, error) {
	word, rest, _ := strings.Cut(line, " ")
	switch word {
	case Ready.String():
		return Event{Kind: Ready}, nil
	case Failed.String():
		return Event{Kind: Failed, Detail: rest}, nil
	case Recycle.String():
		token, detail, _ := strings.Cut(rest, " ")
		for r, name := range reasonNames {
			if name == token {
				return Event{Kind: Recycle, Reason: RecycleReason(r), Detail: detail}, nil
			}
		}
		return Event{Kind: Recycle, Reason: OtherReason, Detail: rest}, nil
	case Metrics.String():
		payload, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return Event{Kind: Metrics}, fmt.Errorf("the final metrics: %w", err)
		}
		return Event{Kind: Metrics, Payload: payload}, nil
	}
	return Event{Kind: Crashed, Crash: crashCause(line), Detail: line}, nil
}

// Status is a worker's end of its status pipe, one line per event. A write that fails is
// not an error here: a supervisor that is gone cannot read it, and the lifeline ends this
// worker at once anyway.
type Status struct{ f *os.File }

func (s *Status) send(e Event) { _, _ = s.f.WriteString(e.encode() + "\n") }

// Ready says the apps are loaded and the worker accepts.
func (s *Status) Ready() { s.send(Event{Kind: Ready}) }

// Failed says the worker could not start, and why.
func (s *Status) Failed(err error) { s.send(Event{Kind: Failed, Detail: err.Error()}) }

// Recycle asks the supervisor for a replacement; detail says why in words.
func (s *Status) Recycle(reason RecycleReason, detail string) {
	s.send(Event{Kind: Recycle, Reason: reason, Detail: detail})
}

// Metrics sends the worker's final counters; it sends nothing, and says so, when they are
// too large for one status line.
func (s *Status) Metrics(payload []byte) error {
	if n := base64.StdEncoding.EncodedLen(len(payload)); n > maxMetricsLine {
		return fmt.Errorf("the final metrics take %d bytes, more than the status pipe's %d", n,
			maxMetricsLine)
	}
	s.send(Event{Kind: Metrics, Payload: payload})
	return nil
}

// SendCrashReports makes the Go runtime write its crash report on the status pipe as well
// as on stderr: a fatal signal in C code (a segfault in an extension) ends a Go program with
// exit status 2 and a dump on stderr, and the copy lets the supervisor name the signal when
// it logs the exit.
func (s *Status) SendCrashReports() error {
	return debug.SetCrashOutput(s.f, debug.CrashOptions{})
}

func (s *Status) Close() error { return s.f.Close() }

// ReadStatus reads a worker's status pipe until it closes (the worker has exited) and calls
// fn with each event, in order. Of the Go runtime's crash report only the first line becomes
// an event (Crashed): the rest, goroutine stacks, is on the worker's stderr too. A line that
// cannot be decoded reaches fn with its error. ReadStatus returns the pipe's error, if any.
func ReadStatus(r io.Reader, fn func(Event, error)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	crashed := false
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		ev, err := decode(sc.Text())
		if ev.Kind == Crashed {
			if crashed {
				continue
			}
			crashed = true
		}
		fn(ev, err)
	}
	return sc.Err()
}
