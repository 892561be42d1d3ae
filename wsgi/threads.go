package wsgi

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/subinterp"
	"github.com/pyhost/pyhost/wsgi/request"
)

// ThreadTable is what every request thread of this process is doing now: the live thread
// view (/debug/threads). A request thread (gil.Limiter's number) writes only its own slot, at
// the start and the end of each request, with atomic stores: no lock, no allocation, no
// contention (slots sit on separate cache lines). A reader copies the slots when asked,
// retrying a slot that changed under it.
type ThreadTable struct {
	slots []threadSlot

	mu      sync.Mutex
	probing map[*cgo.Interp]time.Time // interpreter → when its stack probe in flight started
}

// threadSlot is one request thread's current request. ver is a sequence count: Begin makes it
// odd while it writes the fields and even again after, so a reader that saw the same even
// value before and after copying them has one request's fields. End only clears req: the
// other fields stay those of the request that ended until the next Begin bumps ver.
type threadSlot struct {
	ver    atomic.Uint64
	req    atomic.Pointer[http.Request] // nil while the thread is idle
	id     atomic.Pointer[byte]         // the request id's bytes (a string never changed)
	idLen  atomic.Int64
	start  atomic.Int64 // Unix nanoseconds
	member atomic.Pointer[subinterp.Member]
	call   atomic.Pointer[cgo.Call] // the handler's Call for this thread, for its stack
	seq    atomic.Uint64            // the request's number on call (cgo.Call.Watching)
	_      [64]byte                 // 128 bytes in all: slots share no cache line
}

// NewThreadTable makes a table for a process with n request threads.
func NewThreadTable(n int) *ThreadTable {
	return &ThreadTable{slots: make([]threadSlot, max(n, 1)), probing: map[*cgo.Interp]time.Time{}}
}

// Threads is the number of request threads the table follows.
func (t *ThreadTable) Threads() int { return len(t.slots) }

// begin records that request thread n starts serving r (id) on member with call. It makes
// call's next Serve watched (two uncontended locks in C), so that its stack can be read.
// since is when the request reached the handler (before its wait for a request thread), or
// zero to take the time now: the metrics' observer has the handler take it anyway, and a
// clock read costs as much as the rest of begin.
func (t *ThreadTable) begin(n int, call *cgo.Call, r *http.Request, id string, m *subinterp.Member,
	since time.Time) {
	if since.IsZero() {
		since = time.Now()
	}
	s := &t.slots[n]
	v := s.ver.Load()
	s.ver.Store(v + 1)
	s.req.Store(r)
	s.id.Store(unsafe.StringData(id))
	s.idLen.Store(int64(len(id)))
	s.start.Store(since.UnixNano())
	s.member.Store(m)
	s.call.Store(call)
	s.seq.Store(call.Watching())
	s.ver.Store(v + 2)
}

// end records that request thread n is idle again.
func (t *ThreadTable) end(n int) { t.slots[n].req.Store(nil) }

// RequestThread is one busy request thread: what the live view shows of it, and what a stack
// request needs to reach its interpreter.
type RequestThread struct {
	request.BusyThread

	watched cgo.Watched
	interp  *cgo.Interp
}

// Busy lists the request threads serving a request now, longest-running first. With
// stacks, it also reads each one's Python stack, waiting at most wait for each interpreter's
// GIL (see Stacks).
func (t *ThreadTable) Busy(stacks bool, wait time.Duration) []RequestThread {
	now := time.Now()
	var out []RequestThread
	for n := range t.slots {
		if rt, ok := t.read(n, now); ok {
			out = append(out, rt)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	if stacks {
		t.stacks(out, wait)
	}
	return out
}

// read copies slot n; ok is false when the thread is idle.
func (t *ThreadTable) read(n int, now time.Time) (RequestThread, bool) {
	s := &t.slots[n]
	for {
		v := s.ver.Load()
		if v&1 == 1 {
			time.Sleep(time.Microsecond) // the thread is writing its slot: a moment
			continue
		}
		r := s.req.Load()
		id := unsafe.String(s.id.Load(), int(s.idLen.Load()))
		start := s.start.Load()
		m := s.member.Load()
		call := s.call.Load()
		seq := s.seq.Load()
		if s.ver.Load() != v {
			continue
		}
		if r == nil || m == nil || call == nil {
			return RequestThread{}, false
		}
		started := time.Unix(0, start)
		return RequestThread{
			BusyThread: request.BusyThread{Thread: n, Method: r.Method, Path: r.URL.Path,
				RequestID: id, Started: started, RunningSeconds: now.Sub(started).Seconds(),
				ApplicationGroup: m.Interp().Name, Interpreter: m.Index()},
			watched: call.Watched(seq), interp: m.Interp(),
		}, true
	}
}

// stacks fills each thread's Stack. One goroutine per interpreter reads the stacks of that
// interpreter's requests in turn, with its GIL taken for each; the caller waits at most wait
// for all of them. A request that holds its interpreter's GIL for ever (C code that never
// lets go) keeps that goroutine waiting: it finishes on its own whenever the GIL comes free,
// and until then a later call does not start a second one for the same interpreter.
func (t *ThreadTable) stacks(rts []RequestThread, wait time.Duration) {
	type result struct {
		i     int
		stack string
		ok    bool
	}
	byInterp := map[*cgo.Interp][]int{}
	for i := range rts {
		byInterp[rts[i].interp] = append(byInterp[rts[i].interp], i)
	}
	results := make(chan result, len(rts)) // a late probe never blocks on it
	pending := map[int]bool{}
	now := time.Now()
	for in, idx := range byInterp {
		t.mu.Lock()
		since, busy := t.probing[in]
		if !busy {
			t.probing[in] = now
		}
		t.mu.Unlock()
		if busy {
			for _, i := range idx {
				rts[i].StackError = fmt.Sprintf("not taken: an earlier stack request has waited "+
					"%s for this interpreter's GIL and still waits; %s",
					now.Sub(since).Round(time.Millisecond), stuckAdvice)
			}
			continue
		}
		watched := make([]cgo.Watched, len(idx))
		for k, i := range idx {
			pending[i] = true
			watched[k] = rts[i].watched
		}
		go func(in *cgo.Interp, idx []int, watched []cgo.Watched) {
			for k, i := range idx {
				stack, ok := watched[k].Stack()
				results <- result{i, stack, ok}
			}
			t.mu.Lock()
			delete(t.probing, in)
			t.mu.Unlock()
		}(in, idx, watched)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.i)
			if r.ok {
				rts[r.i].Stack = r.stack
			} else {
				rts[r.i].StackError = "not taken: the request ended first"
			}
		case <-timer.C:
			for i := range pending {
				rts[i].StackError = fmt.Sprintf("not taken: this interpreter's GIL did not "+
					"come free within %s; %s", wait, stuckAdvice)
			}
			return
		}
	}
}

const stuckAdvice = "a thread of this interpreter (perhaps this request) holds it in C code " +
	"without letting go (free-threaded: stays attached, so the world cannot be stopped); " +
	"--deadlock-timeout reports and recycles such a worker"

// WaitProbes waits up to limit for the stack probes in flight. false: one still waits for a
// GIL, and Python must not be finalised under it. (A poll, not a WaitGroup: a stack request
// may still arrive while the server shuts down.)
func (t *ThreadTable) WaitProbes(limit time.Duration) bool {
	for end := time.Now().Add(limit); ; time.Sleep(10 * time.Millisecond) {
		t.mu.Lock()
		n := len(t.probing)
		t.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
