package pyhost

import (
	"testing"
	"time"
)

// The tuner's decision: short requests → the worker's share of the cores, long ones → all of
// them, in between or with too few samples → no change.
func TestGoProcsTunerNext(t *testing.T) {
	tu := &goProcsTuner{high: 16, low: 4, current: 16}
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
}

// No tuner unless asked for, nor where there is nothing to share or the user chose: one
// process, --cpu-affinity, GOMAXPROCS in the environment.
func TestGoProcsTunerOnlyForSiblingWorkers(t *testing.T) {
	if newGoProcsTuner(Config{Processes: 2}, nil) != nil || newGoProcsTuner(Config{Processes: 2, GoProcs: "all"}, nil) != nil {
		t.Error("a tuner without --go-procs auto")
	}
	if newGoProcsTuner(Config{Processes: 1, GoProcs: "auto"}, nil) != nil {
		t.Error("a tuner for a single process")
	}
	if newGoProcsTuner(Config{Processes: 2, CPUAffinity: 1, GoProcs: "auto"}, nil) != nil {
		t.Error("a tuner beside --cpu-affinity")
	}
	t.Setenv("GOMAXPROCS", "2")
	if newGoProcsTuner(Config{Processes: 2, GoProcs: "auto"}, nil) != nil {
		t.Error("a tuner although GOMAXPROCS was set")
	}
}
