package cgo

/*
#include "pyh.h"
*/
import "C"

import (
	"errors"
	"io"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Outcome is how a request's Python part ended.
type Outcome int

const (
	// Respond: nothing was sent yet; Head and Body hold the whole response.
	Respond Outcome = C.PYH_RESPOND
	// Streamed: the response went out through RequestIO.Send / SendFile.
	Streamed Outcome = C.PYH_STREAMED
	// Failed: the app raised before anything was sent; Err has the traceback.
	Failed Outcome = C.PYH_FAILED
	// Aborted: the app raised after the headers went out, or the client went away.
	Aborted Outcome = C.PYH_ABORTED
	// TimedOut: the request passed its deadline and Watched.Cut took it over (the caller
	// answered 504); nothing of it was sent. Err has the traceback it unwound with, if any.
	TimedOut Outcome = C.PYH_TIMED_OUT
)

// callBufferSize is the buffer a Call lends C for the head (first quarter) and a one-shot
// body; larger responses spill into C memory that Release frees.
const callBufferSize = 32 << 10

// Call carries one request through Serve. Reuse it (sync.Pool) to keep the hot path free of
// allocations; call Release before reusing.
type Call struct {
	buf []byte
	res C.pyh_result
	// Request deadlines (Watch): the request thread's watch and the next request's number.
	watch *C.pyh_watch
	seq   uint64
	armed bool
}

// NewCall allocates a Call.
func NewCall() *Call { return &Call{buf: make([]byte, callBufferSize)} }

// IO names a RequestIO for the C side. Make one per long-lived RequestIO (a request thread's
// scratch state) and reuse it: creating handles per request costs time and allocations.
type IO struct{ h cgo.Handle }

// NewIO registers rio for callbacks for the life of the process.
func NewIO(rio RequestIO) IO { return IO{h: cgo.NewHandle(rio)} }

// Serve runs app (an index from LoadApp) of in for one request: one cgo crossing, plus
// callbacks into rio only when the app reads its body or streams. Once Serve returns, nothing
// calls rio or touches c's buffer for this request again — an app thread that kept
// start_response, write() or wsgi.input gets a Python exception instead (cgo/request_state.c)
// — so both may serve the next request at once.
func (in *Interp) Serve(c *Call, app int, environ []byte, hasBody bool, rio IO) {
	callsIn.Add(1)
	var env *C.char
	if len(environ) > 0 {
		env = (*C.char)(unsafe.Pointer(&environ[0]))
	}
	var watch *C.pyh_watch
	if c.armed {
		watch, c.armed = c.watch, false
	}
	C.pyh_serve(in.c, C.int(app), env, C.size_t(len(environ)), C.uintptr_t(rio.h), cBool(hasBody),
		(*C.char)(unsafe.Pointer(&c.buf[0])), C.size_t(len(c.buf)), watch, C.uint64_t(c.seq), &c.res)
}

// Outcome says how the request ended.
func (c *Call) Outcome() Outcome { return Outcome(c.res.outcome) }

// Head is the packed status line and headers (Respond only), valid until Release.
func (c *Call) Head() []byte {
	if c.res.head_owned != 0 {
		return bytesOf(c.res.head, c.res.head_len)
	}
	return c.buf[:c.res.head_len]
}

// Body is the whole response body (Respond only), valid until Release.
func (c *Call) Body() []byte {
	if c.res.body_owned != 0 {
		return bytesOf(c.res.body, c.res.body_len)
	}
	start := len(c.buf) / 4
	return c.buf[start : start+int(c.res.body_len)]
}

// Err is the Python traceback of a Failed or Aborted request ("" if none).
func (c *Call) Err() string {
	if c.res.err == nil {
		return ""
	}
	return C.GoString(c.res.err)
}

// GILWait is how long the request waited to attach its thread state.
func (c *Call) GILWait() time.Duration { return time.Duration(c.res.gil_wait_ns) }

// GILTurnedOn says, once per interpreter, that this request found the interpreter's GIL
// switched back on (free-threading, with WatchGIL): GILOnDuring when it was still off as the
// request began (an import in this request, or in a concurrent one, did it), GILOnBefore when
// it was on already (a thread outside any request did it); GILOff otherwise.
func (c *Call) GILTurnedOn() GILChange { return GILChange(c.res.gil_turned_on) }

// ClientGone reports that the client disconnected mid-request.
func (c *Call) ClientGone() bool { return c.res.client_gone != 0 }

// Release frees what C allocated for this call.
func (c *Call) Release() {
	if c.res.head_owned != 0 {
		C.pyh_free(unsafe.Pointer(c.res.head))
	}
	if c.res.body_owned != 0 {
		C.pyh_free(unsafe.Pointer(c.res.body))
	}
	if c.res.err != nil {
		C.pyh_free(unsafe.Pointer(c.res.err))
	}
	c.res = C.pyh_result{}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
