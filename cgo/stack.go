package cgo

/*
#include <stdlib.h>
#include "pyh.h"
*/
import "C"

import "unsafe"

// Watching makes the next Serve on c reachable from another goroutine, as Watch does, but
// keeps the number Watch gave it if Watch was already called for that request (a request
// deadline armed first): both then name the same request. It returns the request's number.
func (c *Call) Watching() uint64 {
	if !c.armed {
		c.Watch()
	}
	return c.seq
}

// Watched names request number seq of c (a number Watching returned) for another
// goroutine. c's watch must exist: Watching made it before the number was published.
func (c *Call) Watched(seq uint64) Watched { return Watched{w: c.watch, seq: seq} }

// Stack reads the Python stack of the request's thread without disturbing it, with the
// request's interpreter attached: it waits for that interpreter's GIL (for a stop of the
// world when free-threaded), which C code that never lets go of it keeps for ever, so callers
// bound their wait and let it finish on another goroutine. ok is false when the request had
// ended first.
func (d Watched) Stack() (stack string, ok bool) {
	var cstack *C.char
	ok = C.pyh_watch_stack(d.w, C.uint64_t(d.seq), &cstack) != 0
	if cstack != nil {
		stack = C.GoString(cstack)
		C.free(unsafe.Pointer(cstack))
	}
	return stack, ok
}
