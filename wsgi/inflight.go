package wsgi

import (
	"sync"
	"sync/atomic"
	"time"
)

// InFlight follows, for a graceful stop, the requests of every handler that shares it: how
// many still owe their client a response, and which a --request-timeout already answered
// (504) while their Python code keeps running. A stop waits for the first kind only: nobody
// waits for the second any more, and one stuck in C code (a blocking call that
// pyhost.RequestTimeout cannot interrupt) would otherwise hold the stop for the whole
// --shutdown-timeout.
type InFlight struct {
	owed atomic.Int64

	mu        sync.Mutex
	abandoned map[*deadline]AbandonedRequest
}

// AbandonedRequest is a request already answered by its timeout whose Python code still runs.
type AbandonedRequest struct {
	ID, Method, Path string
	AnsweredAt       time.Time
}

// Owed is the number of requests inside the handlers whose client still waits for a response.
func (f *InFlight) Owed() int64 { return f.owed.Load() }

// Abandoned lists the requests answered by their timeout that have not yet unwound.
func (f *InFlight) Abandoned() []AbandonedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]AbandonedRequest, 0, len(f.abandoned))
	for _, a := range f.abandoned {
		out = append(out, a)
	}
	return out
}

func (f *InFlight) begin() {
	if f != nil {
		f.owed.Add(1)
	}
}

// abandon: the request's timeout answered it; it is no longer owed, until end.
func (f *InFlight) abandon(d *deadline, a AbandonedRequest) {
	if f == nil {
		return
	}
	f.mu.Lock()
	if f.abandoned == nil {
		f.abandoned = map[*deadline]AbandonedRequest{}
	}
	f.abandoned[d] = a
	f.mu.Unlock()
	f.owed.Add(-1)
}

// unwound: the request's Python part is over (deadline.stop has returned, so fire is done
// with d) and the request thread still holds d. It reports whether the request had been
// abandoned, leaving the abandoned set; called before the request thread is released, since
// d then belongs to the thread's next request.
func (f *InFlight) unwound(d *deadline) bool {
	if f == nil || !d.abandoned {
		return false
	}
	d.abandoned = false
	f.mu.Lock()
	delete(f.abandoned, d)
	f.mu.Unlock()
	return true
}

// end: the request left the handler; abandoned requests were no longer counted as owed.
func (f *InFlight) end(abandoned bool) {
	if f != nil && !abandoned {
		f.owed.Add(-1)
	}
}
