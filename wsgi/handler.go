// Package wsgi serves HTTP requests with a WSGI application (PEP 3333) running in an embedded
// interpreter: net/http request → packed environ → one cgo call → response.
package wsgi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Handler is an http.Handler that runs a WSGI app.
type Handler struct {
	Threads    *gil.Limiter
	ScriptName string // mount point ("" for the root)
	Log        *slog.Logger
	Limits     request.Limits
	// TrustRequestID keeps a client's valid X-Request-Id as the request id (requestid.go).
	TrustRequestID bool
	// Load returns the app, importing it (and creating its application group) the first
	// time. After a failure requests get 503 and the import is tried again, with back-off
	// (loadretry.go).
	Load func() (*subinterp.App, error)
	// InFlight, if set, follows which requests still owe a response, for a graceful stop
	// (shared by every handler of a server).
	InFlight *InFlight
	// Recycle, if set, is told when a request that passed Limits.RequestTimeout has not
	// unwound within Limits.InterruptTimeout: the process should be recycled gracefully.
	// It is called from a timer goroutine.
	Recycle func(reason string)
	// Table, if set, follows what each request thread is doing (the live thread view).
	Table *ThreadTable
	// CallClock, if set, is given a sample of how long requests stay in Python.
	CallClock *CallClock
	// YieldBeforeCall, if set and true, makes a request yield its OS thread to the goroutines
	// queued behind it just before its call into Python, so a long call does not leave them
	// for another thread to be woken for (pyhost/server, goprocs.go).
	YieldBeforeCall *atomic.Bool
	// GILTurnedOn, if set, is told (once per interpreter) that a request found its
	// interpreter's GIL switched back on (free-threading: cgo.WatchGIL). It must not block.
	GILTurnedOn func(member *subinterp.Member, change cgo.GILChange, r *http.Request, requestID string)

	app    atomic.Pointer[subinterp.App]
	loadMu sync.Mutex
	failed loadFailure // the last failed import and when to try again (loadretry.go)

	scratchOnce sync.Once
	scratch     []*scratch // one per request thread (gil.Limiter numbers them), made on first use
}

// App returns the loaded app, loading it now if no request has yet (or trying again, once
// the back-off after a failed import has passed).
func (h *Handler) App() (*subinterp.App, error) {
	if a := h.app.Load(); a != nil {
		return a, nil
	}
	return h.loadOrRetry()
}

// scratch is a request thread's reusable state: buffers and the callback handle.
type scratch struct {
	call    *cgo.Call
	environ []byte
	rio     requestIO
	io      cgo.IO // names &rio for the C side, made once
	// deadline is the request timeout's timer, re-armed for each request (RequestTimeout).
	deadline deadline
	waiter   *gil.Waiter // this request thread's place at its interpreter's GIL gate
	served   uint32      // requests this thread has served, to pick CallClock's samples
}

// scratchFor returns request thread t's scratch state. Only the goroutine holding thread t
// touches slot t, so making it lazily needs no lock; a large --threads costs memory only for
// the threads that ever run.
func (h *Handler) scratchFor(t int) *scratch {
	h.scratchOnce.Do(func() { h.scratch = make([]*scratch, h.Threads.Threads()) })
	s := h.scratch[t]
	if s == nil {
		s = &scratch{call: cgo.NewCall(), environ: make([]byte, 0, 2048)}
		s.io = cgo.NewIO(&s.rio)
		s.waiter = gil.NewWaiter()
		h.scratch[t] = s
	}
	return s
}

// Request ids: a random per-process prefix and a counter, unique and cheap.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

// outcomeNames are the Record.Outcome of each cgo outcome.
var outcomeNames = map[cgo.Outcome]string{cgo.Respond: "ok", cgo.Streamed: "ok",
	cgo.Failed: "exception", cgo.TimedOut: "timeout", cgo.Aborted: "aborted"}

// hasBody reports whether a request comes with a body to read.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}
