package gil

import (
	"sync"
	"time"
)

// Gate lets request threads into Python one GIL's worth at a time.
//
// With N request threads on one GIL, N-1 of them would otherwise wait for it inside their cgo
// call: each waiting thread is an OS thread that Go counts as in a system call, so Go's
// scheduler keeps taking its P away and starting other threads to run the HTTP side, and every
// GIL handoff wakes a sleeping thread. On two cores that churn costs more per request than the
// Python work of a small app (Flask: 8 threads cost 1.4× the CPU of 1 per request). Waiting
// here instead parks a goroutine, which costs nothing, and the one request inside takes the
// GIL without contention.
//
// Requests that hold the GIL only briefly (a hello app: a few µs of Python) do not cause that
// churn — their waits inside take_gil end before Go's scheduler notices — and parking and
// waking a goroutine for each of them costs more than it saves (14% more CPU per request on
// hello with 8 threads). So the gate measures how long requests stay inside, and while the
// average is under GateBypassBelow it lets everyone straight in.
//
// The gate must not turn the GIL into a lock held for a whole request: a request inside may
// release the GIL (I/O, time.sleep, a C extension, a streamed response written to a slow
// client) or run for long. So the first request waiting polls the GIL while it waits and
// goes in as soon as the GIL is free, or after MaxWait whatever the GIL's state, after which
// CPython's own switching (every switch interval) shares the GIL as it did without the gate.
type Gate struct {
	// held reports whether the GIL is held right now (a racy read is fine: it only decides
	// when to look again); nil means unknown, and the first waiter goes in after MaxWait.
	held func() bool

	mu      sync.Mutex
	inside  int       // requests let in and not yet out
	waiters []*Waiter // in arrival order; waiters[0] polls
	// avgInside is a moving average of how long requests stay inside (ns), entering to
	// leaving; under GateBypassBelow the gate lets requests in without waiting.
	avgInside int64
}

// Gate's timing: how often the first waiter looks at the GIL, and the longest any request
// waits at the gate (CPython's default switch interval: a request inside that holds the GIL
// this long would be asked to give it up anyway).
const (
	GatePoll    = 200 * time.Microsecond
	GateMaxWait = 5 * time.Millisecond
	// GateBypassBelow: requests shorter than this on average go in without waiting (Go's
	// scheduler takes a P from a thread only after it has spent 20 µs or more in a cgo call).
	GateBypassBelow = 50 * time.Microsecond
)

// NewGate returns a gate for one GIL; held reports whether that GIL is held now.
func NewGate(held func() bool) *Gate { return &Gate{held: held} }

// Waiter is a request thread's reusable place in a gate's queue (one per request thread, so
// waiting allocates nothing).
type Waiter struct {
	entered time.Time // when its request went in, for the average time inside
	// wake carries false (now first in line: start polling), then true (let in); room for
	// both, so Leave and popFirst never block while holding the gate's lock.
	wake  chan bool
	timer *time.Timer
}

// NewWaiter returns a waiter for one request thread.
func NewWaiter() *Waiter {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Waiter{wake: make(chan bool, 2), timer: t}
}

// Enter returns once the request may run Python, with how long it waited for that (part of
// its GIL wait). It returns at once when no request is inside. It never fails: a client that
// leaves meanwhile is noticed later, by the app.
func (g *Gate) Enter(w *Waiter) time.Duration {
	g.mu.Lock()
	if g.inside == 0 || len(g.waiters) == 0 && g.avgInside < int64(GateBypassBelow) {
		g.inside++
		g.mu.Unlock()
		w.entered = time.Now()
		return 0
	}
	g.waiters = append(g.waiters, w)
	first := len(g.waiters) == 1
	g.mu.Unlock()

	start := time.Now()
	if first || !<-w.wake {
		// First in line (now): poll from here on.
		g.pollUntilIn(w)
	}
	w.entered = time.Now()
	return w.entered.Sub(start)
}

// pollUntilIn is the first waiter's wait: let in by Leave, or in by itself when the GIL is
// free or it has waited GateMaxWait.
func (g *Gate) pollUntilIn(w *Waiter) {
	deadline := time.Now().Add(GateMaxWait)
	for {
		w.timer.Reset(GatePoll)
		select {
		case in := <-w.wake:
			w.timer.Stop()
			if in {
				return
			}
		case <-w.timer.C:
			if (g.held != nil && !g.held()) || !time.Now().Before(deadline) {
				if g.letSelfIn(w) {
					return
				}
				// Leave let us in meanwhile: the wake is waiting.
				<-w.wake
				return
			}
		}
	}
}

// letSelfIn takes w, the first waiter, out of the queue and in; false if Leave already did.
func (g *Gate) letSelfIn(w *Waiter) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiters) == 0 || g.waiters[0] != w {
		return false
	}
	g.popFirst()
	g.inside++
	return true
}

// popFirst removes the first waiter and tells the next one it polls now. g.mu is held.
func (g *Gate) popFirst() {
	copy(g.waiters, g.waiters[1:])
	g.waiters[len(g.waiters)-1] = nil
	g.waiters = g.waiters[:len(g.waiters)-1]
	if len(g.waiters) > 0 {
		g.waiters[0].wake <- false
	}
}

// Leave ends the turn of w's request. The next waiter goes in when no request is left inside:
// the extra requests let in while the GIL was free drain away as they leave.
func (g *Gate) Leave(w *Waiter) {
	stayed := int64(time.Since(w.entered))
	g.mu.Lock()
	defer g.mu.Unlock()
	g.avgInside += (stayed - g.avgInside) / 8
	g.inside--
	if g.inside > 0 || len(g.waiters) == 0 {
		return
	}
	next := g.waiters[0]
	g.popFirst()
	g.inside++
	next.wake <- true
}
