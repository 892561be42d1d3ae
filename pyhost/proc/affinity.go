package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// --cpu-affinity N binds each worker process (or the one process without --processes) to N
// CPUs, worker slot i taking the i-th run of N among the CPUs pyhost was allowed to use,
// round-robin. Python's working set (a Django app's is megabytes) then stays in one core's
// caches, and the Go side serving the same process runs beside it: on the 2-core benchmark
// machine, one Django process pinned to a core used 12–15% less CPU per request than the
// same process free to move. It hurts when other work shares the cores (a pinned worker
// cannot move off a busy core): off by default (scripts/bench/per-core-efficiency.md).

// cpusForSlot picks n of the allowed CPUs for worker slot: the slot-th run of n, wrapping.
func cpusForSlot(allowed []int, n, slot int) []int {
	n = min(n, len(allowed))
	cpus := make([]int, n)
	for k := range cpus {
		cpus[k] = allowed[(slot*n+k)%len(allowed)]
	}
	return cpus
}

// bindToCPUs binds every thread of this process to n CPUs chosen for slot, and returns them.
// Threads started later inherit the binding from the thread that starts them; the listing
// is repeated until no thread appears that was not bound (the Go runtime may start one
// meanwhile).
func bindToCPUs(n, slot int) ([]int, error) {
	var current unix.CPUSet
	if err := unix.SchedGetaffinity(0, &current); err != nil {
		return nil, fmt.Errorf("--cpu-affinity: reading this process's CPUs: %w", err)
	}
	var allowed []int
	for cpu := 0; len(allowed) < current.Count(); cpu++ {
		if current.IsSet(cpu) {
			allowed = append(allowed, cpu)
		}
	}
	if len(allowed) == 0 {
		return nil, fmt.Errorf("--cpu-affinity: this process may run on no CPU")
	}
	cpus := cpusForSlot(allowed, n, slot)
	var want unix.CPUSet
	for _, c := range cpus {
		want.Set(c)
	}
	bound := map[int]bool{}
	for round := 0; round < 10; round++ {
		tids, err := threadIDs()
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, tid := range tids {
			if bound[tid] {
				continue
			}
			fresh++
			if err := unix.SchedSetaffinity(tid, &want); err != nil && !errors.Is(err, unix.ESRCH) {
				return nil, fmt.Errorf("--cpu-affinity: binding thread %d to CPUs %v: %w", tid,
					cpus, err)
			}
			bound[tid] = true
		}
		if fresh == 0 {
			return cpus, nil
		}
	}
	return cpus, nil
}

// threadIDs lists this process's threads.
func threadIDs() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("--cpu-affinity: listing this process's threads: %w", err)
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// BindCPUs binds this process to n CPUs (--cpu-affinity N; nothing when n is 0), those of
// worker slot (0 without a supervisor), before Python starts, and logs where.
func BindCPUs(n, slot int, log *slog.Logger) error {
	if n == 0 {
		return nil
	}
	cpus, err := bindToCPUs(n, slot)
	if err != nil {
		return err
	}
	// Go sized GOMAXPROCS from the CPUs it could use at start; more Ps than CPUs would only
	// make its threads take turns on them. A GOMAXPROCS the user set is theirs.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(len(cpus))
	}
	log.Info("bound to CPUs (--cpu-affinity)", "cpus", fmt.Sprint(cpus),
		"gomaxprocs", runtime.GOMAXPROCS(0))
	return nil
}
