package wsgi

import (
	"net/http"
	"time"

	"github.com/pyhost/pyhost/cgo"
)

// deadline is one request's --request-timeout: a timer that, if it fires while the request's
// Python part runs, answers 504 in its place (when nothing was sent yet), logs the Python
// stack of the request's thread and raises pyhost.RequestTimeout in it. The request thread
// stays busy until Python unwinds; one that does not within --interrupt-timeout (stuck in C
// code, or swallowing the exception) is reported through Handler.Recycle.
type deadline struct {
	h     *Handler
	timer *time.Timer
	done  chan struct{} // fire sends once when it has finished with w, r and the interpreter
	// The request armed now; set by arm before the timer starts, read by fire.
	watched cgo.Watched
	w       http.ResponseWriter
	r       *http.Request
	id      string
	fired   time.Time // set by fire, read by the handler after done
	// abandoned: fire answered 504 while the request's Python code still ran (set by fire,
	// read and cleared by InFlight.unwound after done).
	abandoned bool
}

// arm starts the request timeout for the request about to be served on call. A request
// thread keeps one deadline (its scratch's) and re-arms it for each request, so a deadline
// costs no allocation.
func (d *deadline) arm(h *Handler, call *cgo.Call, w http.ResponseWriter, r *http.Request, id string) {
	d.watched, d.w, d.r, d.id = call.Watch(), w, r, id
	if d.timer == nil {
		d.h, d.done = h, make(chan struct{}, 1)
		d.timer = time.AfterFunc(h.Limits.RequestTimeout, d.fire)
		return
	}
	d.timer.Reset(h.Limits.RequestTimeout)
}

// stop disarms the timer once Serve returned; if the timer already fired, it waits until fire
// is done with the response writer and the interpreter, which after ServeHTTP returns belong
// to the next request.
func (d *deadline) stop() {
	if !d.timer.Stop() {
		<-d.done
	}
	d.w, d.r = nil, nil
}

func (d *deadline) fire() {
	defer func() { d.done <- struct{}{} }()
	d.fired = time.Now()
	cut := d.watched.Cut()
	if cut == cgo.CutDone {
		return // the request ended as the timer fired: its own response stands
	}
	if cut == cgo.CutTaken {
		// Nothing of the request can reach w any more, and ServeHTTP waits for d.done before
		// it returns: this goroutine owns the response. Content-Length and close let the
		// client finish reading now, while the handler may stay in Python for a long time.
		hdr := d.w.Header()
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("Content-Length", "16")
		hdr.Set("Connection", "close")
		d.w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = d.w.Write([]byte("Gateway Timeout\n"))
		_ = http.NewResponseController(d.w).Flush()
		if d.h.InFlight != nil {
			d.abandoned = true
			d.h.InFlight.abandon(d, AbandonedRequest{ID: d.id, Method: d.r.Method,
				Path: d.r.URL.Path, AnsweredAt: d.fired})
		}
	}
	lim := &d.h.Limits
	// Armed first: Interrupt waits for the interpreter's GIL, which C code that never lets
	// go of it keeps for ever; the check still reports such a request.
	if lim.InterruptTimeout > 0 {
		st := stuck{h: d.h, watched: d.watched, id: d.id, path: d.r.URL.Path, since: d.fired}
		time.AfterFunc(lim.InterruptTimeout, st.check)
	}
	stack, interrupted := d.watched.Interrupt()
	what := "answered 504"
	if cut == cgo.CutStarted {
		what = "its response had started, so no 504 (the connection is dropped if the app fails)"
	}
	if interrupted {
		what += "; RequestTimeout raised in its thread"
	} else {
		what += "; it ended before it could be interrupted"
	}
	d.h.Log.Error("request timed out: "+what+" (raise "+
		"--request-timeout if such requests are legitimate, or find where the stack shows it "+
		"spends the time)", "request_id", d.id, "method", d.r.Method, "path", d.r.URL.Path,
		"timeout", lim.RequestTimeout.String(), "interrupted", interrupted, "stack", stack)
}

// stuck is a timed-out request to look at again after --interrupt-timeout.
type stuck struct {
	h       *Handler
	watched cgo.Watched
	id      string
	path    string
	since   time.Time
}

// check runs --interrupt-timeout after the deadline: a request still in Python then is stuck
// where an exception cannot reach it (a blocking C call, perhaps holding the GIL), or catches
// the exception and goes on. Its request thread stays occupied for as long; only a new
// process gets it back.
func (st stuck) check() {
	if !st.watched.Active() {
		return
	}
	lim := &st.h.Limits
	reason := "a request passed --request-timeout and has not unwound within " +
		"--interrupt-timeout: it holds a request thread, stuck in C code or swallowing " +
		"pyhost.RequestTimeout"
	st.h.Log.Error("RECYCLE NEEDED: "+reason+"; this worker should be recycled (with a process "+
		"supervisor it is; a single process keeps serving with one request thread fewer until "+
		"the request ends)", "request_id", st.id, "path", st.path,
		"request_timeout", lim.RequestTimeout.String(),
		"interrupt_timeout", lim.InterruptTimeout.String(),
		"stuck_for", time.Since(st.since).Round(time.Millisecond).String(),
		"busy_threads", st.h.Threads.Busy(), "threads", st.h.Threads.Threads())
	if st.h.Recycle != nil {
		st.h.Recycle(reason)
	}
}
