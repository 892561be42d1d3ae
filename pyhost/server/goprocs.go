package server

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/wsgi"
)

// goProcsTuner shapes a worker's Go scheduler to the requests its app serves, when the worker
// shares the machine's cores with sibling workers (--processes N ≥ 2). It does two things,
// both driven by how long requests stay in Python (wsgi.CallClock, sampled):
//
// Yielding before long calls (always). A worker among siblings has more Go processors (Ps) than
// its share of the cores. When a request goes into a long cgo call its P usually still holds
// runnable goroutines, and Go wakes another OS thread to run them (or its monitor takes the P
// away from the call): a wake-up and a sleep of an OS thread per request. Yielding once just
// before the call runs them on the request's own thread first. Not done for short calls nor
// in a process alone on the machine, where it only delays the request let into the GIL.
//
// Sizing Go's processors (--go-procs auto only): the worker's share of the cores (cores ÷
// processes) while requests are short, every core while they are long (a request long in
// Python holds its P inside the cgo call, and with one P nothing else of the worker runs
// meanwhile). It is not the default because one P lengthens the latency tail when other work
// competes for the cores.
//
// The measurements behind each choice: scripts/bench/per-core-efficiency.md, "The Go
// scheduler's share" (items 5 and 8).
type goProcsTuner struct {
	clock     *wsgi.CallClock
	log       *slog.Logger
	high, low int // the Ps Go started with; this worker's share of the cores
	current   int
	// sizing: --go-procs auto, and GOMAXPROCS not chosen by the user.
	sizing bool
	// yield is read by every request (wsgi.Handler.YieldBeforeCall).
	yield atomic.Bool
}

// Requests shorter than goProcsShortCall on average count as short, longer than
// goProcsLongCall as long; in between the tuner keeps what it has, so a mean near one bound
// does not flip it at every look.
const (
	goProcsShortCall = 50 * time.Microsecond
	goProcsLongCall  = 100 * time.Microsecond
	goProcsEvery     = time.Second
	// goProcsMinSamples: fewer samples in an interval (a few dozen requests a second) say
	// too little about the app, and at that load the scheduler costs nothing worth tuning.
	goProcsMinSamples = 8
)

// newGoProcsTuner returns the tuner for a worker of cfg, or nil where there is nothing to
// tune: one process, CPUs chosen with --cpu-affinity, or Ps few enough that the worker's
// share of them is all of them. It sizes Go's Ps only with --go-procs auto and no GOMAXPROCS
// set by the user.
func newGoProcsTuner(cfg config.Config, log *slog.Logger) *goProcsTuner {
	if cfg.Processes < 2 || cfg.CPUAffinity > 0 {
		return nil
	}
	high := runtime.GOMAXPROCS(0)
	low := max(1, high/cfg.Processes)
	if low >= high {
		return nil
	}
	return &goProcsTuner{clock: &wsgi.CallClock{}, log: log, high: high, low: low, current: high,
		sizing: cfg.GoProcs == "auto" && os.Getenv("GOMAXPROCS") == ""}
}

// callClock is the clock the handlers sample into: none without a tuner.
func (t *goProcsTuner) callClock() *wsgi.CallClock {
	if t == nil {
		return nil
	}
	return t.clock
}

// yieldFlag is what the handlers read before each call into Python: nil without a tuner.
func (t *goProcsTuner) yieldFlag() *atomic.Bool {
	if t == nil {
		return nil
	}
	return &t.yield
}

// next is the number of Ps for an interval whose sampled requests stayed mean in Python.
func (t *goProcsTuner) next(mean time.Duration, samples int64) int {
	switch {
	case !t.sizing, samples < goProcsMinSamples:
		return t.current
	case mean < goProcsShortCall:
		return t.low
	case mean > goProcsLongCall:
		return t.high
	}
	return t.current
}

// run looks at the samples every goProcsEvery until ctx ends, and gives Go back all the cores
// when it does (the drain and the shutdown then run as they would without the tuner).
func (t *goProcsTuner) run(ctx context.Context) {
	tick := time.NewTicker(goProcsEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if t.current != t.high {
				runtime.GOMAXPROCS(t.high)
				t.current = t.high
			}
			return
		case <-tick.C:
			mean, n := t.clock.Take()
			t.set(t.next(mean, n), mean)
			t.setYield(t.nextYield(mean, n), mean)
		}
	}
}

func (t *goProcsTuner) set(procs int, mean time.Duration) {
	if procs == t.current {
		return
	}
	runtime.GOMAXPROCS(procs) // stops the world for a moment: only on a change
	t.log.Info("Go processors for this worker's requests", "gomaxprocs", procs,
		"was", t.current, "mean_python_call", mean.String())
	t.current = procs
}

// nextYield is whether requests yield before their call into Python in an interval whose
// sampled requests stayed mean in Python: while they stay long and the worker has more Ps than
// its share of the cores (with --go-procs auto the short ones leave it its share).
func (t *goProcsTuner) nextYield(mean time.Duration, samples int64) bool {
	switch {
	case t.current <= t.low:
		return false
	case samples < goProcsMinSamples:
		return t.yield.Load()
	case mean < goProcsShortCall:
		return false
	case mean > goProcsLongCall:
		return true
	}
	return t.yield.Load()
}

func (t *goProcsTuner) setYield(yield bool, mean time.Duration) {
	if yield == t.yield.Load() {
		return
	}
	t.yield.Store(yield)
	t.log.Info("yield before each call into Python", "yield", yield, "gomaxprocs", t.current,
		"share", t.low, "mean_python_call", mean.String())
}
