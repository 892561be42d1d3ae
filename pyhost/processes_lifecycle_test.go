package pyhost_test

// How --processes workers end: crashes, boot failures, and the supervisor's stop.

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A worker that dies inside a request (SIGSEGV in C code, os._exit) fails that request only:
// the group keeps serving, the supervisor logs how the worker ended and starts a new one.
func TestProcessesWorkerCrashes(t *testing.T) {
	for _, tc := range []struct{ path, logged string }{
		{"/segv", `crash="SIGSEGV: segmentation violation"`},
		{"/exit", `status="exit status 3"`},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			s := startServer(t, "testdata/processes.py", "--processes", "2")
			c := freshClient()
			if a, err := ask(c, s.URL+tc.path); err == nil {
				t.Fatalf("GET %s answered %+v; the worker should have died", tc.path, a)
			}
			for i := 0; i < 20; i++ { // the other worker (and the backlog) carry on
				if _, err := ask(c, s.URL+"/"); err != nil {
					t.Fatalf("request %d after the crash: %v\n%s", i, err, s.Log)
				}
			}
			waitForLines(t, s, tc.logged, 1)
			waitForLines(t, s, `msg="worker died; starting a new one"`, 1)
			waitForLines(t, s, `msg="worker ready"`, 3) // two at start, one replacement
			workerPIDs(t, s, 2)
		})
	}
}

// An app that cannot be imported: the supervisor logs the failure once, retries with a
// growing delay (1 s, 2 s, 4 s...: a few starts in 3.5 s, not a hot loop) and still stops
// cleanly on SIGTERM.
func TestProcessesBootFailureBacksOff(t *testing.T) {
	p := startProcess(t, "testdata/broken_import.py", "--processes", "1", "--listen", "127.0.0.1:0")
	time.Sleep(3500 * time.Millisecond)
	if err := p.stop(); err != nil {
		t.Errorf("supervisor exited with %v after SIGTERM, want 0\n%s", err, p.Log)
	}
	out := p.Log.String()
	starts := countLines(out, `msg="started worker"`)
	if starts < 2 || starts > 4 {
		t.Errorf("%d worker starts in 3.5 s; want 2 to 4 (retries at about 1 s and 3 s)\n%s",
			starts, out)
	}
	if n := countLines(out, "No module named 'this_module_does_not_exist_anywhere'\"") +
		0; n == 0 {
		t.Errorf("the supervisor did not log the import error's summary\n%s", out)
	}
	if n := countLines(out, `msg="worker could not start; fix the app`); n != 1 {
		t.Errorf("the boot failure was logged in full %d times, want once\n%s", n, out)
	}
	if !strings.Contains(out, `msg="stopped cleanly" supervisor=`) {
		t.Errorf("the supervisor did not say it stopped cleanly\n%s", out)
	}
}

// SIGTERM: every worker drains and stops cleanly, then the supervisor exits 0.
func TestProcessesSIGTERMStopsEveryWorkerCleanly(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2")
	workers := workerPIDs(t, s, 2)
	if err := s.stop(); err != nil {
		t.Fatalf("supervisor exited with %v after SIGTERM, want 0\n%s", err, s.Log)
	}
	out := s.Log.String()
	for pid := range workers {
		if countLines(out, fmt.Sprintf(`msg="stopped cleanly" worker=0 pid=%d`, pid))+
			countLines(out, fmt.Sprintf(`msg="stopped cleanly" worker=1 pid=%d`, pid)) != 1 {
			t.Errorf("worker %d did not log \"stopped cleanly\"\n%s", pid, out)
		}
		if countLines(out, fmt.Sprintf(`pid=%d status="exit status 0"`, pid)) != 1 {
			t.Errorf("the supervisor did not log worker %d's exit status 0\n%s", pid, out)
		}
	}
	if !strings.Contains(out, `msg="stopped cleanly" supervisor=`) {
		t.Errorf("the supervisor did not say it stopped cleanly\n%s", out)
	}
}

// A stop that is not clean says so with exit status 1, as the single-process server does: a
// worker still running a request at --shutdown-timeout stops with an error; a worker that
// does not stop at all (here: SIGSTOPped) is killed --shutdown-timeout + 5 s after SIGTERM.
func TestProcessesUncleanStopExitsNonZero(t *testing.T) {
	t.Run("request past the timeout", func(t *testing.T) {
		s := startServer(t, "testdata/slow.py", "--processes", "1", "--shutdown-timeout", "1s")
		go func() { _, _ = freshClient().Get(s.URL + "/?ms=20000&id=stuck") }()
		waitForLog(t, s, "slow.py: started id=stuck")
		if err := s.stop(); exitCode(err) != 1 {
			t.Errorf("exit %v after a stop with a request in flight, want 1\n%s", err, s.Log)
		}
		if !strings.Contains(s.Log.String(), "worker stopped with an error") {
			t.Errorf("the supervisor did not log the worker's unclean stop\n%s", s.Log)
		}
	})
	t.Run("worker that does not stop", func(t *testing.T) {
		s := startServer(t, "testdata/processes.py", "--processes", "1", "--shutdown-timeout", "1s")
		for pid := range workerPIDs(t, s, 1) {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
		if err := s.stop(); exitCode(err) != 1 {
			t.Errorf("exit %v after killing a worker, want 1\n%s", err, s.Log)
		}
		if !strings.Contains(s.Log.String(), "still running after the shutdown timeout; killing it") {
			t.Errorf("the supervisor did not log the kill\n%s", s.Log)
		}
	})
}
