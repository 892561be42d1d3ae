package wsgi

import (
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
	"github.com/pyhost/pyhost/wsgi/request"
)

// One request, in the order it goes: admitted (head, framing, body), given a request thread
// and an interpreter, run in one cgo call, answered.

// ServeHTTP runs the WSGI app for one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// abandoned: its timeout answered the request (504) while Python ran; it was no longer
	// owed a response from then on (inflight.go). It is set before the answer, which may end
	// the handler with a panic (http.ErrAbortHandler).
	var abandoned bool
	h.InFlight.begin()
	defer func() { h.InFlight.end(abandoned) }()
	app, err := h.App()
	if err != nil {
		h.unavailable(w, err)
		return
	}
	body, ok := h.admit(w, r)
	if !ok {
		return
	}
	if body != nil {
		defer putBody(body)
	}
	h.serve(w, r, app, body, &abandoned)
}

// admit makes the checks a request passes before it may wait for a request thread: its head,
// its framing, and its body read (nil: none, or one the app streams). false: it was refused,
// and answered.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) (*bodyBuffer, bool) {
	if !h.checkHead(w, r) {
		return nil, false
	}
	if len(r.TransferEncoding) > 0 {
		// net/http drops a Content-Length sent beside Transfer-Encoding before we see the
		// request, so whether this is the smuggling shape of RFC 9112 §6.1 cannot be told: the
		// body is read as chunked, and the connection is closed after the response, as the RFC
		// requires for that case.
		w.Header().Set("Connection", "close")
	}
	if !hasBody(r) {
		return nil, true
	}
	return h.readBody(w, r)
}

// heldThread is what a request holds while it runs: its request thread (its scratch, the Call
// included) and its interpreter member. They are held until the response is in Go memory or,
// for a streamed one, written; nothing of the scratch may be touched after release, as the
// next request on this thread owns it.
type heldThread struct {
	h      *Handler
	thread int
	call   *cgo.Call
	member *subinterp.Member
	held   bool
}

func (t *heldThread) release() {
	if t.held {
		t.held = false
		t.call.Release()
		t.member.Release()
		t.h.Threads.Release(t.thread)
	}
}

// serve runs an admitted request on a request thread and answers it.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, app *subinterp.App,
	body *bodyBuffer, abandoned *bool) {
	rec := recordOf(w)
	var queued time.Time // when the request began to wait for a thread: metrics, thread view
	if rec != nil || h.Table != nil {
		queued = time.Now()
	}
	if rec != nil && body != nil {
		rec.RequestBodyBytes = body.Len()
	}
	thread := h.acquireThread(w, r)
	if thread < 0 {
		return
	}
	member := app.Group.Acquire()
	if rec != nil {
		rec.QueueWait = time.Since(queued)
		rec.Group = app.Group.Name
		rec.Interp = member.Index()
	}
	s := h.scratchFor(thread)
	held := heldThread{h: h, thread: thread, call: s.call, member: member, held: true}
	defer held.release()

	requestID := h.requestID(w, r) // requestid.go
	s.environ = packEnviron(s.environ[:0], r, h.ScriptName, requestID)
	s.rio = requestIO{w: w, r: r, body: body, limits: &h.Limits, log: h.Log, id: requestID}
	withBody := body != nil && body.Len() > 0 || body == nil && hasBody(r)
	gilWait := h.callApp(w, r, s, thread, member, app.ID(member), requestID, queued, withBody,
		abandoned)
	sp := s.rio.spool // a streamed response's buffer, nil otherwise: it outlives the scratch
	s.rio = requestIO{}
	if rec != nil {
		rec.RequestID = requestID
		rec.GILWait = gilWait
		rec.Outcome = outcomeNames[s.call.Outcome()]
	}
	h.answer(w, r, s.call, sp, &held, rec, requestID, s.deadline.fired)
}

// acquireThread waits for a free request thread (up to --queue-timeout) and returns its
// number, or -1 when the request was answered 503 instead. A client that left while its
// request waited ends the handler (http.ErrAbortHandler).
func (h *Handler) acquireThread(w http.ResponseWriter, r *http.Request) int {
	thread, err := h.Threads.AcquireWithin(r.Context(), h.Limits.QueueTimeout)
	if errors.Is(err, gil.ErrQueueTimeout) {
		h.Log.Warn("request refused: it waited longer than --queue-timeout for a free request "+
			"thread; answered 503 (raise --threads, or --queue-timeout if such waits are "+
			"acceptable, or look for what keeps the threads busy)", "status", 503,
			"method", r.Method, "path", r.URL.Path, "queue_timeout", h.Limits.QueueTimeout.String(),
			"threads", h.Threads.Threads())
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return -1
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
	return thread
}

// callApp is the request's time in Python: its deadline armed, its thread shown in the thread
// table, the interpreter's GIL gate passed, the one cgo call made, and all of that undone. It
// returns how long the request waited for the GIL.
func (h *Handler) callApp(w http.ResponseWriter, r *http.Request, s *scratch, thread int,
	member *subinterp.Member, appID int, requestID string, queued time.Time, withBody bool,
	abandoned *bool) time.Duration {
	call := s.call
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
	member.Interp().Serve(call, appID, s.environ, withBody, s.io)
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
		*abandoned = h.InFlight.unwound(dl)
	}
	if change := call.GILTurnedOn(); change != cgo.GILOff && h.GILTurnedOn != nil {
		h.GILTurnedOn(member, change, r, requestID)
	}
	gilWait := gateWait + call.GILWait()
	gil.RecordWait(gilWait)
	return gilWait
}

// answer writes what the app's call left: its response, a 500 for its failure, or nothing
// more (a timeout answered it already; a client left; a streamed response cut short drops
// the connection). fired is when the request's deadline fired (a timed-out request).
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, call *cgo.Call, sp *spool,
	held *heldThread, rec *request.Record, requestID string, fired time.Time) {
	switch call.Outcome() {
	case cgo.Respond:
		// The head and body live in the request thread's scratch: copy them out, give the
		// thread back, then write, so a client that reads slowly holds a goroutine and its
		// response, never a request thread.
		resp := takeResponse(call.Head(), call.Body())
		held.release()
		h.writeResponse(w, r, resp)
		resp.free()
	case cgo.Streamed:
		if sp != nil {
			// The app is done; the rest of its response waits in the spool. Give the
			// thread back while the client reads it, then wait: net/http forbids touching w
			// after ServeHTTP returns.
			held.release()
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
			"after_deadline", time.Since(fired).Round(time.Millisecond).String(),
			"traceback", call.Err())
	case cgo.Aborted:
		tb, clientGone := call.Err(), call.ClientGone() // before release frees them
		if sp != nil {
			// What the app sent before it failed still goes out, as it did when writes went
			// straight to the client; then the connection is dropped.
			held.release()
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
