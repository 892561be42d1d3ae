package pyhost_test

// Recycling under --processes: each limit makes a worker ask for a replacement, which the
// supervisor starts first; the old worker then drains. Every recycle is logged with its
// reason, and no request is refused on the way; a worker the supervisor kills (past
// --startup-timeout or --graceful-timeout) is logged as its kill, with why.

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --maximum-requests 50 under 16 clients: workers are replaced every 50 or so requests, and
// not one of 2,000 requests fails; the answers come from many worker pids.
func TestRecycleMaximumRequestsUnderLoad(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "2", "--maximum-requests", "50")
	workerPIDs(t, s, 2)
	// Rounds of 2,000 requests, each with no failure allowed, until several recycles have
	// happened and replacements have answered: how many recycles one round sees depends on
	// how fast replacements start beside the load (bounded: 5 rounds).
	pids := map[int]bool{}
	var old []int
	var reasons []string
	for round := 1; ; round++ {
		results := load(s.URL+"/", 16, 2000, time.Minute, nil)
		failed := 0
		for _, r := range results {
			if r.err != nil {
				failed++
				if failed <= 3 {
					t.Errorf("request failed: %v", r.err)
				}
				continue
			}
			pids[r.a.PID] = true
		}
		if len(results) != 2000 || failed > 0 {
			t.Fatalf("round %d: %d requests of 2000 sent, %d failed\n%s", round, len(results),
				failed, s.Log)
		}
		old, reasons = recycled(s.Log.String())
		t.Logf("round %d: 2000 requests, 0 failed; %d worker pids answered so far, %d recycles",
			round, len(pids), len(old))
		if len(old) >= 3 && len(pids) >= 4 {
			break
		}
		if round == 5 {
			t.Fatalf("after %d rounds: %d recycles, answers from %d worker pids; want several "+
				"recycles and new workers answering\n%s", round, len(old), len(pids), s.Log)
		}
	}
	for _, r := range reasons {
		if r != "maximum-requests 50 reached" {
			t.Errorf("recycle reason %q, want \"maximum-requests 50 reached\"", r)
		}
	}
	for _, pid := range old {
		waitGone(t, pid, 40*time.Second)
	}
}

// --maximum-requests-jitter: each worker picks its own limit in [N, N+jitter], and says it.
// Also the regression test of the listening socket turning blocking whenever a worker was
// started (exec.Cmd calls Fd() on its ExtraFiles): the old worker, accepting while the
// replacement started, blocked in accept(2), and the stop at the end of this test waited for
// it until the shutdown timeout (exit 1, "had to be killed").
func TestRecycleMaximumRequestsJitter(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1", "--maximum-requests", "5",
		"--maximum-requests-jitter", "10")
	c := freshClient()
	for i := 0; i < 16; i++ {
		mustAsk(t, c, s.URL+"/")
	}
	waitForLines(t, s, `msg="recycling worker"`, 1)
	_, reasons := recycled(s.Log.String())
	re := regexp.MustCompile(`^maximum-requests (\d+) reached \(5 plus a jitter of (\d+)\)$`)
	m := re.FindStringSubmatch(reasons[0])
	if m == nil {
		t.Fatalf("recycle reason %q, want maximum-requests N reached (5 plus a jitter of J)",
			reasons[0])
	}
	n, _ := strconv.Atoi(m[1])
	j, _ := strconv.Atoi(m[2])
	if n != 5+j || j > 10 {
		t.Fatalf("limit %d with jitter %d: want 5 + a jitter in [0, 10]", n, j)
	}
}

// waitRecycled waits until the worker pid is recycled for a reason matching want, a new
// worker answers and the old one has exited.
func waitRecycled(t *testing.T, s *server, pid int, want *regexp.Regexp) {
	t.Helper()
	waitForLines(t, s, `msg="recycling worker"`, 1)
	pids, reasons := recycled(s.Log.String())
	if pids[0] != pid || !want.MatchString(reasons[0]) {
		t.Fatalf("recycled pid %d for %q; want pid %d for a reason matching %s\n%s", pids[0],
			reasons[0], pid, want, s.Log)
	}
	// Well within the 30 s --shutdown-timeout: an idle worker drains at once (it used to hang
	// in accept(2) until the timeout, the listening socket switched to blocking mode).
	waitGone(t, pid, 15*time.Second)
	if a := mustAsk(t, freshClient(), s.URL+"/"); a.PID == pid {
		t.Fatalf("the recycled worker %d still answers", pid)
	}
}

// --memory-limit: a worker whose app keeps 40 MiB per request is recycled once its RSS
// passes the limit.
func TestRecycleMemoryLimit(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1", "--memory-limit", "150MiB")
	c := freshClient()
	first := mustAsk(t, c, s.URL+"/")
	for i := 0; i < 4; i++ { // 160 MiB kept, on top of the interpreter
		if a := mustAsk(t, c, s.URL+"/grow"); a.PID != first.PID {
			break // already replaced
		}
	}
	waitRecycled(t, s, first.PID,
		regexp.MustCompile(`^memory-limit: RSS \d+ MiB > 150 MiB$`))
}

// --inactivity-timeout 1s: a worker that gets no request for a second is recycled.
func TestRecycleInactivityTimeout(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1",
		"--inactivity-timeout", "1s")
	a := mustAsk(t, freshClient(), s.URL+"/")
	waitRecycled(t, s, a.PID,
		regexp.MustCompile(`^inactivity-timeout 1s: no request for 1(\.\d+)?s$`))
}

// --restart-interval: a worker is recycled after serving that long, busy or not.
func TestRecycleRestartInterval(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1",
		"--restart-interval", "2s")
	a := mustAsk(t, freshClient(), s.URL+"/")
	waitRecycled(t, s, a.PID, regexp.MustCompile(`^restart-interval 2s reached$`))
}

// --cpu-time-limit: a worker whose requests burn CPU is recycled once it used that much.
func TestRecycleCPUTimeLimit(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1", "--cpu-time-limit", "2s")
	c := freshClient()
	first := mustAsk(t, c, s.URL+"/")
	for i := 0; i < 20 && countLines(s.Log.String(), `msg="recycling worker"`) == 0; i++ {
		mustAsk(t, c, s.URL+"/burn")
	}
	waitRecycled(t, s, first.PID,
		regexp.MustCompile(`^cpu-time-limit 2s: used \d+\.\d+s of CPU$`))
}

// startGracefulTimeout starts slow.py in one worker recycled every second, whose replaced
// worker is killed when its requests still run a second later, and sends it a request of 25 s.
// It returns the server and the request's error (nil: answered).
func startGracefulTimeout(t *testing.T) (*server, <-chan error) {
	s := startServer(t, "testdata/slow.py", "--processes", "1", "--restart-interval", "1s",
		"--graceful-timeout", "1s")
	done := make(chan error, 1)
	go func() {
		_, err := freshClient().Get(s.URL + "/?ms=25000&id=long")
		done <- err
	}()
	return s, done
}

// --graceful-timeout: a replaced worker whose request runs past it is killed then, instead
// of getting the whole --shutdown-timeout.
func TestRecycleGracefulTimeout(t *testing.T) {
	s, done := startGracefulTimeout(t)
	waitForLines(t, s, `msg="replaced worker still has requests running after `+
		`--graceful-timeout; killing it"`, 1)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the request on the killed worker succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request on the killed worker still runs 10 s later")
	}
	// Its exit reaped before the test's stop, which would otherwise count it as unclean.
	waitForLines(t, s, `status="signal SIGKILL (killed)"`, 1)
}

// startupTimeoutLog runs slow_import.py, which takes longer to import, in one worker under
// --startup-timeout 1s until (within at most) the supervisor logs that a worker could not
// start, then stops it and returns its log.
func startupTimeoutLog(t *testing.T, within time.Duration) string {
	p := startProcess(t, "testdata/slow_import.py", "--processes", "1",
		"--startup-timeout", "1s", "--listen", "127.0.0.1:0")
	eventually(within, func() bool { return countLines(p.Log.String(), `msg="worker could not start`) > 0 })
	_ = p.stop()
	return p.Log.String()
}

// --startup-timeout: a worker whose app takes longer to import is killed and counted as a
// boot failure (logged once, retried with back-off).
func TestRecycleStartupTimeout(t *testing.T) {
	out := startupTimeoutLog(t, 20*time.Second)
	if countLines(out, `msg="worker not ready within --startup-timeout; killing it"`) == 0 {
		t.Fatalf("no worker was killed for --startup-timeout\n%s", out)
	}
	if countLines(out, `msg="worker could not start: the supervisor killed it while it was loading`) != 1 ||
		!strings.Contains(out, `error="not ready within --startup-timeout 1s, so it was killed`) {
		t.Fatalf("the startup timeout was not logged as a boot failure\n%s", out)
	}
	if !strings.Contains(out, `status="signal SIGKILL (killed)"`) {
		t.Errorf("the worker's exit by SIGKILL was not logged\n%s", out)
	}
}

// A worker the supervisor kills itself is logged as such, with the reason: not as "killed from
// outside" (a person or the OOM killer), and not as an app to fix by its traceback.
func TestSupervisorNamesItsOwnKills(t *testing.T) {
	t.Run("startup-timeout", func(t *testing.T) {
		out := startupTimeoutLog(t, 30*time.Second)
		if strings.Contains(out, "killed from outside") || strings.Contains(out, "traceback is above") {
			t.Errorf("a worker killed for --startup-timeout is logged as killed from outside "+
				"or as an app with a traceback\n%s", out)
		}
		l := lineWith(out, `msg="worker could not start: the supervisor killed it while it was loading`)
		if !strings.Contains(l, `hint="killed by the supervisor: not ready within --startup-timeout 1s"`) ||
			!strings.Contains(l, `error="not ready within --startup-timeout 1s, so it was killed`) {
			t.Errorf("the boot failure does not say the supervisor killed it and why: %q\n%s", l, out)
		}
	})
	t.Run("graceful-timeout", func(t *testing.T) {
		s, _ := startGracefulTimeout(t)
		waitForLines(t, s, `status="signal SIGKILL (killed)"`, 1)
		out := s.Log.String()
		l := lineWith(out, `status="signal SIGKILL (killed)"`)
		if !strings.Contains(l, `msg="worker stopped: the supervisor killed it"`) ||
			!strings.Contains(l, `hint="killed by the supervisor: its requests still ran --graceful-timeout 1s after it was replaced"`) {
			t.Errorf("the kill after --graceful-timeout is not logged as the supervisor's: %q\n%s", l, out)
		}
		if strings.Contains(out, "killed from outside") {
			t.Errorf("logged as killed from outside\n%s", out)
		}
	})
}

// Without --processes nothing could replace the one process: every recycling flag is refused
// with an error naming it (exit 2, nothing started).
func TestRecycleFlagsNeedProcesses(t *testing.T) {
	for _, flag := range [][]string{{"--maximum-requests", "50"},
		{"--restart-interval", "1h"}, {"--inactivity-timeout", "1m"},
		{"--cpu-time-limit", "1m"}, {"--memory-limit", "300MiB"},
		{"--startup-timeout", "1m"}, {"--graceful-timeout", "10s"}} {
		r := runPyhost(t, together, append([]string{"serve", "testdata/hello.py",
			"--listen", "127.0.0.1:0"}, flag...)...)
		want := regexp.MustCompile("^" + flag[0] + " [^ ]+: needs --processes")
		if r.Code != 2 || !want.MatchString(r.Out) {
			t.Errorf("serve %s without --processes: exit %d, %q; want exit 2 and %q", flag, r.Code,
				r.Out, want)
		}
	}
}
