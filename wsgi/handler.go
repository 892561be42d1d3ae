// Package wsgi serves HTTP requests with a WSGI application (PEP 3333) running in an embedded
// interpreter: net/http request → packed environ → one cgo call → response.
package wsgi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// abandoned: its timeout answered the request (504) while Python ran; it was no longer
	// owed a response from then on (inflight.go).
	var abandoned bool
	h.InFlight.begin()
	defer func() { h.InFlight.end(abandoned) }()
	app, err := h.App()
	if err != nil {
		h.unavailable(w, err)
		return
	}
	if !h.checkHead(w, r) {
		return
	}
	if len(r.TransferEncoding) > 0 {
		// net/http drops a Content-Length sent beside Transfer-Encoding before we see the
		// request, so whether this is the smuggling shape of RFC 9112 §6.1 cannot be told: the
		// body is read as chunked, and the connection is closed after the response, as the RFC
		// requires for that case.
		w.Header().Set("Connection", "close")
	}
	var body *bodyBuffer
	if hasBody(r) {
		var ok bool
		if body, ok = h.readBody(w, r); !ok {
			return
		}
		if body != nil {
			defer putBody(body)
		}
	}

	rec := recordOf(w)
	var queued time.Time // when the request began to wait for a thread: metrics, thread view
	if rec != nil || h.Table != nil {
		queued = time.Now()
	}
	if rec != nil && body != nil {
		rec.RequestBodyBytes = body.Len()
	}
	thread, err := h.Threads.AcquireWithin(r.Context(), h.Limits.QueueTimeout)
	if errors.Is(err, gil.ErrQueueTimeout) {
		h.Log.Warn("request refused: it waited longer than --queue-timeout for a free request "+
			"thread; answered 503 (raise --threads, or --queue-timeout if such waits are "+
			"acceptable, or look for what keeps the threads busy)", "status", 503,
			"method", r.Method, "path", r.URL.Path, "queue_timeout", h.Limits.QueueTimeout.String(),
			"threads", h.Threads.Threads())
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		// The client went away (or half-closed, which reads the same) while the request
		// waited for a request thread: the app never ran, so no answer may say it did. Drop
		// the connection without a response, as for a client that leaves mid-request (the
		// access log records it as aborted); returning would send an empty 200.
		h.Log.Info("client disconnected while its request waited for a request thread; "+
			"the request was not run", "method", r.Method, "path", r.URL.Path)
		panic(http.ErrAbortHandler)
	}
	member := app.Group.Acquire()
	if rec != nil {
		rec.QueueWait = time.Since(queued)
		rec.Group = app.Group.Name
		rec.Interp = member.Index()
	}
	s := h.scratchFor(thread)
	call := s.call
	// A request thread (its scratch, the Call included, and the interpreter member) is held
	// until the response is in Go memory or, for a streamed one, written. Nothing of the
	// scratch may be touched after release: the next request on this thread owns it.
	held := true
	release := func() {
		if held {
			held = false
			call.Release()
			member.Release()
			h.Threads.Release(thread)
		}
	}
	defer release()

	requestID := h.requestID(w, r) // requestid.go
	s.environ = packEnviron(s.environ[:0], r, h.ScriptName, requestID)
	s.rio = requestIO{w: w, r: r, body: body, limits: &h.Limits, log: h.Log, id: requestID}
	hasBody := body != nil && body.Len() > 0 || body == nil && hasBody(r)

	var dl *deadline
	if h.Limits.RequestTimeout > 0 {
		dl = &s.deadline
		dl.arm(h, call, w, r, requestID)
	}
	if h.Table != nil {
		h.Table.begin(thread, call, r, requestID, member, queued)
	}
	var gateWait time.Duration
	gate := member.Gate()
	if gate != nil {
		gateWait = gate.Enter(s.waiter)
	}
	if h.YieldBeforeCall != nil && h.YieldBeforeCall.Load() {
		runtime.Gosched()
	}
	// The sample times the call alone: counting the yield in would make the calls the
	// yield is for look longer than they are, and keep it on for calls that are not.
	var sampled time.Time
	if h.CallClock != nil {
		if s.served++; s.served%callSampleEvery == 0 {
			sampled = time.Now()
		}
	}
	member.Interp().Serve(call, app.ID(member), s.environ, hasBody, s.io)
	if !sampled.IsZero() {
		h.CallClock.add(time.Since(sampled))
	}
	if gate != nil {
		gate.Leave(s.waiter)
	}
	if h.Table != nil {
		h.Table.end(thread)
	}
	if dl != nil {
		dl.stop()
		abandoned = h.InFlight.unwound(dl)
	}
	gilWait := gateWait + call.GILWait()
	gil.RecordWait(gilWait)
	sp := s.rio.spool // a streamed response's buffer, nil otherwise: it outlives the scratch
	s.rio = requestIO{}
	if rec != nil {
		rec.RequestID = requestID
		rec.GILWait = gilWait
		rec.Outcome = outcomeNames[call.Outcome()]
	}

	switch call.Outcome() {
	case cgo.Respond:
		// The head and body live in the request thread's scratch: copy them out, give the
		// thread back, then write, so a client that reads slowly holds a goroutine and its
		// response, never a request thread.
		resp := takeResponse(call.Head(), call.Body())
		release()
		h.writeResponse(w, r, resp)
		resp.free()
	case cgo.Streamed:
		if sp != nil {
			// The app is done; the rest of its response waits in the spool. Give the
			// thread back while the client reads it, then wait: net/http forbids touching w
			// after ServeHTTP returns.
			release()
			if err := sp.finish(); err != nil {
				if rec != nil {
					rec.Outcome = outcomeNames[cgo.Aborted]
				}
				h.Log.Info("streamed response cut short after the app finished: the client "+
					"went away or stopped reading (--write-timeout); connection dropped",
					"request_id", requestID, "path", r.URL.Path, "error", err)
				panic(http.ErrAbortHandler) // the response is incomplete: drop the connection
			}
		}
	case cgo.Failed:
		h.Log.Error("WSGI application failed", "request_id", requestID, "method", r.Method,
			"path", r.URL.Path, "traceback", call.Err())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal Server Error\n"))
	case cgo.TimedOut:
		// The deadline's timer answered 504 and logged the stack; this is the request's end.
		h.Log.Warn("timed-out request unwound; its request thread is free again",
			"request_id", requestID, "path", r.URL.Path,
			"after_deadline", time.Since(s.deadline.fired).Round(time.Millisecond).String(),
			"traceback", call.Err())
	case cgo.Aborted:
		tb, clientGone := call.Err(), call.ClientGone() // before release frees them
		if sp != nil {
			// What the app sent before it failed still goes out, as it did when writes went
			// straight to the client; then the connection is dropped.
			release()
			_ = sp.finish()
		}
		if tb != "" {
			h.Log.Error("WSGI application failed after the response started; connection dropped",
				"request_id", requestID, "method", r.Method, "path", r.URL.Path, "traceback", tb)
		} else if clientGone {
			h.Log.Info("client disconnected mid-request", "request_id", requestID,
				"path", r.URL.Path)
		}
		// Tell net/http to drop the connection rather than end a response that is incomplete.
		panic(http.ErrAbortHandler)
	}
}

// outcomeNames are the Record.Outcome of each cgo outcome.
var outcomeNames = map[cgo.Outcome]string{cgo.Respond: "ok", cgo.Streamed: "ok",
	cgo.Failed: "exception", cgo.TimedOut: "timeout", cgo.Aborted: "aborted"}

// hasBody reports whether a request comes with a body to read.
func hasBody(r *http.Request) bool {
	return r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
}
