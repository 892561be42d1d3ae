package request

import "time"

// Record is what the WSGI layer knows about one request beyond what crossed the wire: the
// metrics and the access log read it once the request has ended. The HTTP side (status,
// bytes, duration) is measured by whoever wraps the ResponseWriter (pyhost's observer).
type Record struct {
	RequestID string
	// Group is the application group (interpreter group) that served the request; Interp is
	// the index of the interpreter inside it. Empty / -1 when no app ran (a refusal).
	Group  string
	Interp int
	// QueueWait is how long the request waited for a free request thread; GILWait how long
	// its request thread then waited to attach its thread state (take the GIL).
	QueueWait time.Duration
	GILWait   time.Duration
	// RequestBodyBytes is the size of the body the app could read (0 without one).
	RequestBodyBytes int64
	// Outcome says how the app's part ended: "" (no app ran), "ok", "exception" (500 from
	// an uncaught error), "timeout" (504), "aborted" (dropped after the response started).
	Outcome string
}

// Recorder is implemented by a ResponseWriter that collects a Record for the request it
// answers; Handler fills the record when the writer it is given is one.
type Recorder interface {
	WSGIRecord() *Record
}
