package pyhost

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/pyhost/pyhost/wsgi"
)

// goProcsTuner sizes a worker's Go scheduler to the requests its app serves, when the worker
// shares the machine's cores with sibling workers (--processes N ≥ 2) and --go-procs auto
// asks for it.
//
// Each Go processor (P) that finds itself without work wakes and parks OS threads looking for
// some, and a request that becomes runnable wakes an idle P. With N workers each sized to all
// the cores, that churn is multiplied N times over the same cores: on hello at 2 × 8 on two
// cores, one P per worker served 1.16–1.32× the requests with 0.73–0.87× the CPU per request
// (scripts/bench/per-core-efficiency.md). But a request that stays long in Python holds its P
// inside the cgo call until Go's monitor takes the P away (20 µs to 10 ms later), and with one
// P nothing else of the worker runs meanwhile: a Django page at 2 × 8 cost 1.26× the CPU with
// one P. So the tuner watches how long requests stay in Python (wsgi.CallClock) and gives the
// worker its share of the cores (cores ÷ processes) while they are short, all of them while
// they are long.
//
// It is not the default because of what one P does to the latency tail when other work
// competes for the cores: a worker whose one running thread the kernel puts aside stops
// serving all its connections meanwhile. Hello at 2 × 8, each server in a session of its own
// (so the kernel's autogroup splits the two cores between it and wrk, as between two
// services): p99 68–80 ms against 13–14 ms with every core, for 1.17–1.32× the req/s. With
// wrk in the server's own group the tail grew little (7.7 → 9.9 ms in one A/B, 8.2 → 7.2 in
// another).
type goProcsTuner struct {
	clock     *wsgi.CallClock
	log       *slog.Logger
	high, low int // all the cores Go saw at start; this worker's share of them
	current   int
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
// tune: --go-procs not auto, one process, a GOMAXPROCS the user set, CPUs chosen with
// --cpu-affinity, or cores few enough that the share is all of them.
func newGoProcsTuner(cfg Config, log *slog.Logger) *goProcsTuner {
	if cfg.GoProcs != "auto" || cfg.Processes < 2 || cfg.CPUAffinity > 0 ||
		os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	high := runtime.GOMAXPROCS(0)
	low := max(1, high/cfg.Processes)
	if low >= high {
		return nil
	}
	return &goProcsTuner{clock: &wsgi.CallClock{}, log: log, high: high, low: low, current: high}
}

// callClock is the clock the handlers sample into: none without a tuner.
func (t *goProcsTuner) callClock() *wsgi.CallClock {
	if t == nil {
		return nil
	}
	return t.clock
}

// next is the number of Ps for an interval whose sampled requests stayed mean in Python.
func (t *goProcsTuner) next(mean time.Duration, samples int64) int {
	switch {
	case samples < goProcsMinSamples:
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
