package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
)

// The tuner's decision: short requests → the worker's share of the cores, long ones → all of
// them, in between or with too few samples → no change; nothing without --go-procs auto.
func TestGoProcsTunerNext(t *testing.T) {
	tu := &goProcsTuner{high: 16, low: 4, current: 16, sizing: true}
	cases := []struct {
		current int
		mean    time.Duration
		samples int64
		want    int
	}{
		{16, 20 * time.Microsecond, 100, 4},
		{4, 20 * time.Microsecond, 100, 4},
		{4, 300 * time.Microsecond, 100, 16},
		{16, 75 * time.Microsecond, 100, 16}, // between the bounds: kept
		{4, 75 * time.Microsecond, 100, 4},
		{16, 20 * time.Microsecond, goProcsMinSamples - 1, 16}, // too few samples: kept
		{4, time.Second, 0, 4},
	}
	for _, c := range cases {
		tu.current = c.current
		if got := tu.next(c.mean, c.samples); got != c.want {
			t.Errorf("at %d Ps, mean %v over %d samples: %d Ps, want %d", c.current, c.mean,
				c.samples, got, c.want)
		}
	}
	tu.sizing = false
	if got := tu.next(20*time.Microsecond, 100); got != tu.current {
		t.Errorf("without --go-procs auto: %d Ps, want %d kept", got, tu.current)
	}
}

// Whether requests yield before their Python call: while calls are long and the worker has
// more Ps than its share of the cores; kept in between or with too few samples.
func TestGoProcsTunerNextYield(t *testing.T) {
	tu := &goProcsTuner{high: 2, low: 1, current: 2}
	cases := []struct {
		current int
		was     bool
		mean    time.Duration
		samples int64
		want    bool
	}{
		{2, false, 300 * time.Microsecond, 100, true},
		{2, true, 20 * time.Microsecond, 100, false},
		{2, true, 75 * time.Microsecond, 100, true}, // between the bounds: kept
		{2, false, 75 * time.Microsecond, 100, false},
		{2, true, 20 * time.Microsecond, goProcsMinSamples - 1, true}, // too few samples: kept
		{1, true, 300 * time.Microsecond, 100, false},                 // Ps = its share: never
	}
	for _, c := range cases {
		tu.current = c.current
		tu.yield.Store(c.was)
		if got := tu.nextYield(c.mean, c.samples); got != c.want {
			t.Errorf("at %d Ps (share %d), yielding %v, mean %v over %d samples: %v, want %v",
				c.current, tu.low, c.was, c.mean, c.samples, got, c.want)
		}
	}
}

// No tuner where there is nothing to share or the user chose: one process, --cpu-affinity;
// a tuner that does not size Ps without --go-procs auto or with GOMAXPROCS set.
func TestGoProcsTunerOnlyForSiblingWorkers(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 Ps or more: one P is every worker's share")
	}
	if newGoProcsTuner(config.Config{Processes: 1, GoProcs: "auto"}, nil) != nil {
		t.Error("a tuner for a single process")
	}
	if newGoProcsTuner(config.Config{Processes: 2, CPUAffinity: 1, GoProcs: "auto"}, nil) != nil {
		t.Error("a tuner beside --cpu-affinity")
	}
	for _, c := range []config.Config{{Processes: 2}, {Processes: 2, GoProcs: "all"}} {
		if tu := newGoProcsTuner(c, nil); tu == nil || tu.sizing {
			t.Errorf("--go-procs %q: tuner %+v, want one that yields but does not size", c.GoProcs, tu)
		}
	}
	if tu := newGoProcsTuner(config.Config{Processes: 2, GoProcs: "auto"}, nil); tu == nil || !tu.sizing {
		t.Errorf("--go-procs auto: tuner %+v, want one that sizes", tu)
	}
	t.Setenv("GOMAXPROCS", "2")
	if tu := newGoProcsTuner(config.Config{Processes: 2, GoProcs: "auto"}, nil); tu == nil || tu.sizing {
		t.Errorf("GOMAXPROCS set: tuner %+v, want one that does not size", tu)
	}
}
