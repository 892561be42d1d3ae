package server

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The worker's side of recycling: it watches its own request count, age, idleness, CPU time
// and resident memory against the --processes recycling limits, and asks the supervisor
// (once) to replace it. It keeps serving until the supervisor, its replacement ready, drains
// it, so no request is refused on the way.

// requestActivity counts the requests of this worker. The request path pays two atomic adds
// and a compare; everything else is read by the watch on its own schedule.
type requestActivity struct {
	started, finished atomic.Uint64
	limits            config.Recycling
	limit             uint64        // --maximum-requests after jitter (0: none)
	limitReached      string        // the recycle detail when finished reaches limit
	reached           chan struct{} // signalled once, when finished reaches limit
}

// newRequestActivity counts requests against r's limits.
func newRequestActivity(r config.Recycling) *requestActivity {
	a := &requestActivity{limits: r, reached: make(chan struct{}, 1)}
	if r.MaximumRequests > 0 {
		// Each worker its own limit, so workers started together do not recycle together.
		n := r.MaximumRequests + rand.IntN(r.MaximumRequestsJitter+1)
		a.limit = uint64(n)
		a.limitReached = fmt.Sprintf("maximum-requests %d reached", n)
		if r.MaximumRequestsJitter > 0 {
			a.limitReached += fmt.Sprintf(" (%d plus a jitter of %d)", r.MaximumRequests,
				n-r.MaximumRequests)
		}
	}
	return a
}

// wrap counts every request h serves.
func (a *requestActivity) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.started.Add(1)
		defer a.done()
		h.ServeHTTP(w, r)
	})
}

func (a *requestActivity) done() {
	if a.finished.Add(1) == a.limit {
		select {
		case a.reached <- struct{}{}:
		default:
		}
	}
}

// countRequests wraps h when this server watches its requests for recycling.
func (s *Server) countRequests(h http.Handler) http.Handler {
	if s.activity == nil {
		return h
	}
	return s.activity.wrap(h)
}

// watchRecycling starts the watch of the recycling limits (Run does, when s.activity counts
// requests). It reports the first limit reached to s.recycle (once) and stops when the
// returned function is called.
func (s *Server) watchRecycling() (stop func()) {
	a := s.activity
	w := &recycleWatch{limits: a.limits, activity: a, started: time.Now(), idleSince: time.Now()}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(w.interval())
		defer tick.Stop()
		var reason worker.RecycleReason
		var detail string
		for detail == "" {
			select {
			case <-quit:
				return
			case <-a.reached:
				reason, detail = worker.MaximumRequests, a.limitReached
			case now := <-tick.C:
				reason, detail = w.check(now)
			}
		}
		s.log.Warn("this worker reached a recycling limit; the supervisor starts its "+
			"replacement, then this worker finishes its requests and exits", "reason", detail)
		s.recycle(reason, detail)
	}()
	return func() { close(quit); <-done }
}

// recycleWatch holds what the periodic checks need between ticks.
type recycleWatch struct {
	limits      config.Recycling
	activity    *requestActivity
	started     time.Time
	idleSince   time.Time
	lastStarted uint64
}

// interval is how often the limits are checked: a tenth of the shortest time limit, so one
// is passed by at most 10%, and at most once a second (reading the RSS and CPU time costs a
// file read and a syscall, never anything per request).
func (w *recycleWatch) interval() time.Duration {
	d := time.Second
	for _, limit := range []time.Duration{w.limits.RestartInterval,
		w.limits.InactivityTimeout, w.limits.CPUTimeLimit} {
		if limit > 0 {
			d = min(d, limit/10)
		}
	}
	return max(d, 10*time.Millisecond)
}

// check returns why the worker must be recycled now, in words too (detail "": it need not).
func (w *recycleWatch) check(now time.Time) (worker.RecycleReason, string) {
	l := w.limits
	if l.RestartInterval > 0 && now.Sub(w.started) >= l.RestartInterval {
		return worker.RestartInterval,
			fmt.Sprintf("restart-interval %s reached", l.RestartInterval)
	}
	if l.InactivityTimeout > 0 {
		// Idle: no request running and none started since the last tick.
		started := w.activity.started.Load()
		if started != w.lastStarted || w.activity.finished.Load() != started {
			w.lastStarted, w.idleSince = started, now
		} else if now.Sub(w.idleSince) >= l.InactivityTimeout {
			return worker.InactivityTimeout, fmt.Sprintf("inactivity-timeout %s: "+
				"no request for %s", l.InactivityTimeout, now.Sub(w.idleSince).Round(time.Millisecond))
		}
	}
	if l.CPUTimeLimit > 0 {
		if used, err := cpuTime(); err == nil && used >= l.CPUTimeLimit {
			return worker.CPUTimeLimit, fmt.Sprintf("cpu-time-limit %s: used %s of CPU",
				l.CPUTimeLimit, used.Round(time.Millisecond))
		}
	}
	if l.MemoryLimit > 0 {
		if rss, err := residentBytes(); err == nil && rss > l.MemoryLimit {
			return worker.MemoryLimit, fmt.Sprintf("memory-limit: RSS %s > %s",
				mebibytes(rss), mebibytes(l.MemoryLimit))
		}
	}
	return worker.OtherReason, ""
}

// cpuTime is this process's user plus system CPU time.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// residentBytes is this process's resident set size, from /proc/self/statm (its second
// field, in pages).
func residentBytes() (int64, error) {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := bytes.Fields(statm)
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: unexpected %q", statm)
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

func mebibytes(n int64) string {
	if n%(1<<20) == 0 || n >= 10<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
