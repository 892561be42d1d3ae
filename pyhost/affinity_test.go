package pyhost_test

// --cpu-affinity: each worker process bound to CPUs of its own.

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// threadCPUs returns, for every thread of pid, its Cpus_allowed_list.
func threadCPUs(t *testing.T, pid int) map[string]int {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	lists := map[string]int{}
	for _, d := range dirs {
		if v, ok := procStatus(d, "Cpus_allowed_list"); ok { // not ok: the thread ended
			lists[v]++
		}
	}
	return lists
}

// --cpu-affinity 1 with 2 workers: every thread of a worker (Go's and Python's, those started
// after the binding included) runs on one CPU, a different one for each worker.
func TestCPUAffinityBindsEachWorker(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	s := startServer(t, "testdata/processes.py", "--processes", "2", "--threads", "4",
		"--cpu-affinity", "1")
	pids := workerPIDs(t, s, 2)
	seen := map[string]bool{}
	for pid := range pids {
		lists := threadCPUs(t, pid)
		if len(lists) != 1 {
			t.Fatalf("worker %d's threads are allowed on different CPU sets: %v", pid, lists)
		}
		for l := range lists {
			if strings.ContainsAny(l, ",-") {
				t.Errorf("worker %d is allowed on CPUs %q, want one", pid, l)
			}
			seen[l] = true
		}
	}
	if len(seen) != 2 {
		t.Errorf("the two workers share their CPU: %v", seen)
	}
	waitForLines(t, s, `msg="bound to CPUs (--cpu-affinity)"`, 2)
}
