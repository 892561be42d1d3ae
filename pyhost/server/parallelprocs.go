package server

import (
	"log/slog"
	"os"
	"runtime"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
)

// Go processors for a process whose request threads run Python in parallel (--gil own with
// interpreters, --gil free).
//
// A request thread inside Python is an OS thread in a cgo call, and it holds its Go
// processor (P) until the call returns or Go's monitor takes the P away from it (20 µs to
// 10 ms later). With one GIL that is one P at a time; with own-GIL interpreters or a
// free-threaded build every P can be inside Python at once, and then nothing is left to read
// the next requests, write the responses or poll the network until the monitor steps in: a
// futex wake-up and a sleep of an OS thread per hand-off, and the requests queued on a
// blocked P wait for them. Measured (CPython 3.13, Flask page, own ×2 against processes ×2,
// 2 cores, 16 connections, one run of pyhost bench): with GOMAXPROCS at the cores (2), 4,481
// req/s at 379 µs CPU per request against 5,739 and 314 µs; with 8 Ps, 5,383 at 312 µs
// against 5,435 and 318 µs. The Python code itself ran 1.27× slower with 2 Ps (perf, per
// request): the OS threads' churn kept evicting it from the caches.
//
// So such a process starts with a P for every core plus one for every request thread that may
// be inside Python, as many Ps as can otherwise all be taken by Python. The extra Ps cost
// nothing while idle. GOMAXPROCS in the environment, --go-procs auto or --cpu-affinity
// (which sizes Ps to the CPUs it binds) leave Go's own choice alone.
const parallelProcsCap = 64

// parallelPythonProcs returns the Ps for cfg's process, or 0 to leave Go's choice.
func parallelPythonProcs(cfg config.Config, cores int) int {
	if cfg.GIL != gil.Own && cfg.GIL != gil.Free || cfg.Threads < 2 ||
		cfg.GoProcs == "auto" || cfg.CPUAffinity > 0 || os.Getenv("GOMAXPROCS") != "" ||
		os.Getenv("PYHOST_PARALLEL_PROCS") == "off" {
		return 0
	}
	return min(cores+cfg.Threads, parallelProcsCap)
}

// sizeProcsForParallelPython applies parallelPythonProcs to this process.
func sizeProcsForParallelPython(cfg config.Config, log *slog.Logger) {
	have := runtime.GOMAXPROCS(0)
	procs := parallelPythonProcs(cfg, have)
	if procs <= have {
		return
	}
	runtime.GOMAXPROCS(procs)
	log.Debug("Go processors: one per core and one per request thread, as Python runs in "+
		"parallel here", "gomaxprocs", procs, "cores", have, "threads", cfg.Threads, "gil", string(cfg.GIL))
}
