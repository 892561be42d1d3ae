package pyhost_test

// --processes: a supervisor that never starts Python and N worker processes accepting on the
// sockets it bound (issue 7's process model for one group). Every test runs the real binary
// on loopback; load is bounded in clients and time.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The seed's rule, through the environ a real request sees: wsgi.multiprocess is true
// whenever --processes is given (even 1), false without it; wsgi.multithread is true exactly
// when threads ≠ 1.
func TestProcessesWSGIFlags(t *testing.T) {
	for _, processes := range []string{"", "1", "2"} {
		for _, threads := range []string{"1", "8"} {
			name := "processes=" + processes + ",threads=" + threads
			if processes == "" {
				name = "processes omitted,threads=" + threads
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"testdata/processes.py", "--threads", threads}
				if processes != "" {
					args = append(args, "--processes", processes)
				}
				s := startServer(t, args...)
				a, err := ask(freshClient(), s.URL+"/")
				if err != nil {
					t.Fatalf("%v\n%s", err, s.Log)
				}
				if a.Multiprocess != (processes != "") || a.Multithread != (threads != "1") {
					t.Errorf("wsgi.multiprocess=%v wsgi.multithread=%v, want %v %v", a.Multiprocess,
						a.Multithread, processes != "", threads != "1")
				}
				inWorker := a.PID != s.cmd.Process.Pid
				if inWorker != (processes != "") {
					t.Errorf("the app ran in pid %d, the started process is %d: want a worker "+
						"process exactly when --processes is given", a.PID, s.cmd.Process.Pid)
				}
			})
		}
	}
}

// Two workers, both children of the supervisor, both accept on the one listening socket;
// the supervisor's private variables do not reach the app.
func TestProcessesTwoWorkersServe(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2")
	if a, err := ask(freshClient(), s.URL+"/"); err != nil || len(a.WorkerEnv) > 0 {
		t.Errorf("the app sees pyhost's worker variables %v (err %v)", a.WorkerEnv, err)
	}
	for pid := range workerPIDs(t, s, 2) {
		fields, ok := procStat(pid)
		if !ok {
			t.Fatalf("no /proc/%d/stat", pid)
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != s.cmd.Process.Pid {
			t.Errorf("worker %d's parent is %d, want the supervisor %d", pid, ppid, s.cmd.Process.Pid)
		}
	}
}

// The supervisor never initialises Python, so nothing an app does can take it down: a
// sitecustomize module (imported by every interpreter that starts, through PYTHONPATH)
// records the pid of each process that started Python, and only the workers' are there.
func TestProcessesSupervisorNeverStartsPython(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	site := fmt.Sprintf("import os\nwith open(%q, 'a') as f:\n    f.write('%%d\\n' %% os.getpid())\n",
		started)
	writeFile(t, filepath.Join(dir, "sitecustomize.py"), site)
	t.Setenv("PYTHONPATH", dir)
	s := startServer(t, "testdata/processes.py", "--processes", "2")
	workers := workerPIDs(t, s, 2)
	out, err := os.ReadFile(started)
	if err != nil {
		t.Fatalf("sitecustomize did not run (so this test proves nothing): %v", err)
	}
	pythons := map[int]bool{}
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		pythons[pid] = true
	}
	if pythons[s.cmd.Process.Pid] {
		t.Errorf("the supervisor (pid %d) started Python", s.cmd.Process.Pid)
	}
	for pid := range workers {
		if !pythons[pid] {
			t.Errorf("worker %d served requests without starting Python there?! started: %v",
				pid, pythons)
		}
	}
}

// SIGKILL of the supervisor takes its workers with it: no orphans, whatever user the workers
// became (dropping to --user clears the parent-death signal; the lifeline pipe does not care).
func TestProcessesSupervisorKilledLeavesNoOrphans(t *testing.T) {
	cases := map[string]func(t *testing.T) []string{
		"same user": func(*testing.T) []string {
			return []string{"testdata/processes.py", "--processes", "2"}
		},
	}
	if os.Geteuid() == 0 {
		cases["--user nobody"] = func(*testing.T) []string {
			return []string{"testdata/processes.py", "--processes", "2", "--user", "nobody"}
		}
		cases["process groups as nobody"] = func(t *testing.T) []string {
			return []string{"--config", groupsConfig(t, groupTable("a", `user = "nobody"`)+
				groupTable("b", `user = "nobody"`)+mountTable("/", "app.py", "a")+mountTable("/b", "app.py", "b"))}
		}
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, args(t)...)
			waitForLines(t, s, `msg="all workers ready"`, 1)
			workers := childPIDs(t, s.cmd.Process.Pid)
			if len(workers) != 2 {
				t.Fatalf("the supervisor has %d child processes %v, want 2 workers\n%s",
					len(workers), workers, s.Log)
			}
			// Orphans would keep the server's output open (and this test waiting): end them
			// if the check below fails.
			t.Cleanup(func() {
				for _, pid := range workers {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			_ = syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			for _, pid := range workers {
				waitGone(t, pid, 10*time.Second)
			}
			if err := s.stopWith(syscall.SIGKILL); err == nil {
				t.Fatal("the supervisor exited 0 after SIGKILL")
			}
		})
	}
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that ended meanwhile
		}
		for _, field := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(field)
			if err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}
