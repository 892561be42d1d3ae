package cgo

/*
#include <stdlib.h>
#include "pyh.h"
*/
import "C"

import "unsafe"

// Watched names one request of a Call, for a goroutine other than the one serving it: a
// request-timeout timer. It stays valid (and harmless) after the request ended: every method
// then does nothing, even while the Call serves a later request.
type Watched struct {
	w   *C.pyh_watch
	seq uint64
}

// Cut is what Watched.Cut found.
type Cut int

const (
	// CutDone: the request had ended (or was ending); its own response stands.
	CutDone Cut = C.PYH_CUT_DONE
	// CutTaken: nothing was sent yet, and now nothing of the request will be: the caller owns
	// the response (a 504) and Serve returns TimedOut.
	CutTaken Cut = C.PYH_CUT_TAKEN
	// CutStarted: the response had started; it stays the app's (interrupting the app then
	// aborts it).
	CutStarted Cut = C.PYH_CUT_STARTED
)

// Watch makes the next Serve on c reachable from another goroutine through the returned
// Watched. Only requests that have a deadline need it: it costs two uncontended locks.
func (c *Call) Watch() Watched {
	if c.watch == nil {
		c.watch = C.pyh_watch_new()
		if c.watch == nil {
			panic("pyhost: out of memory for a request thread's watch")
		}
	}
	c.seq++
	c.armed = true
	return Watched{w: c.watch, seq: c.seq}
}

// Cut takes the response over from a request that has sent nothing yet: from now on its
// start_response, write() and wsgi.input raise pyhost.RequestTimeout. It may wait for a
// callback of the request in progress (a body read, a chunk being written).
func (d Watched) Cut() Cut { return Cut(C.pyh_watch_cut(d.w, C.uint64_t(d.seq))) }

// Interrupt reads the Python stack of the request's thread and raises pyhost.RequestTimeout
// in it, with the request's interpreter attached: it waits for that interpreter's GIL.
// interrupted is false when the request had ended first.
func (d Watched) Interrupt() (stack string, interrupted bool) {
	var cstack *C.char
	ok := C.pyh_watch_interrupt(d.w, C.uint64_t(d.seq), &cstack) != 0
	if cstack != nil {
		stack = C.GoString(cstack)
		C.free(unsafe.Pointer(cstack))
	}
	return stack, ok
}

// Active reports whether the request is still being served (its Python part has not ended).
func (d Watched) Active() bool { return C.pyh_watch_active(d.w, C.uint64_t(d.seq)) != 0 }

// ProbeGIL attaches a thread state of the interpreter and detaches it at once: it returns when
// the interpreter's GIL (its own under --gil own) could be taken, at once without a GIL. No
// probe may be in flight when Finalize starts.
func (in *Interp) ProbeGIL() { C.pyh_probe_gil(in.c) }
