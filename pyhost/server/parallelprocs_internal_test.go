package server

import (
	"testing"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
)

func TestParallelPythonProcsRules(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("PYHOST_PARALLEL_PROCS", "")
	for _, tc := range []struct {
		name string
		cfg  config.Config
		want int
	}{
		{"own, 3 threads", config.Config{GIL: gil.Own, Threads: 3}, 2 + 3},
		{"free, 8 threads", config.Config{GIL: gil.Free, Threads: 8}, 2 + 8},
		{"free, many threads: capped", config.Config{GIL: gil.Free, Threads: 500}, parallelProcsCap},
		{"one GIL", config.Config{GIL: gil.Shared, Threads: 8}, 0},
		{"one request thread", config.Config{GIL: gil.Own, Threads: 1}, 0},
		{"--go-procs auto", config.Config{GIL: gil.Own, Threads: 4, GoProcs: "auto"}, 0},
		{"--cpu-affinity", config.Config{GIL: gil.Free, Threads: 4, CPUAffinity: 1}, 0},
	} {
		if got := parallelPythonProcs(tc.cfg, 2); got != tc.want {
			t.Errorf("%s: %d Ps on 2 cores, want %d", tc.name, got, tc.want)
		}
	}
	t.Setenv("GOMAXPROCS", "3")
	if got := parallelPythonProcs(config.Config{GIL: gil.Own, Threads: 4}, 2); got != 0 {
		t.Errorf("GOMAXPROCS set by the user: %d Ps, want Go's own choice (0)", got)
	}
}
