package pyhost_test

// Recycling under --processes: each limit makes a worker ask for a replacement, which the
// supervisor starts first; the old worker then drains. Every recycle is logged with its
// reason, and no request is refused on the way.

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var recycleRE = regexp.MustCompile(`msg="recycling worker" .*pid=(\d+) reason="([^"]*)"`)

// recycled returns the pid and reason of every recycle the supervisor logged.
func recycled(log string) (pids []int, reasons []string) {
	for _, m := range recycleRE.FindAllStringSubmatch(log, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
		reasons = append(reasons, m[2])
	}
	return pids, reasons
}

// loadN sends n requests from clients goroutines, each on a new connection, giving up after
// a minute; it returns every outcome.
func loadN(url string, clients, n int) []result {
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		next    atomic.Int64
	)
	end := time.Now().Add(time.Minute)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := freshClient()
			for next.Add(1) <= int64(n) && time.Now().Before(end) {
				r := result{start: time.Now()}
				r.a, r.err = ask(c, url)
				r.end = time.Now()
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

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
		results := loadN(s.URL+"/", 16, 2000)
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
		if _, err := ask(c, s.URL+"/"); err != nil {
			t.Fatal(err)
		}
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
	a, err := ask(freshClient(), s.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if a.PID == pid {
		t.Fatalf("the recycled worker %d still answers", pid)
	}
}

// --memory-limit: a worker whose app keeps 40 MiB per request is recycled once its RSS
// passes the limit.
func TestRecycleMemoryLimit(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1", "--memory-limit", "150MiB")
	c := freshClient()
	first, err := ask(c, s.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // 160 MiB kept, on top of the interpreter
		a, err := ask(c, s.URL+"/grow")
		if err != nil {
			t.Fatal(err)
		}
		if a.PID != first.PID {
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
	a, err := ask(freshClient(), s.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	waitRecycled(t, s, a.PID,
		regexp.MustCompile(`^inactivity-timeout 1s: no request for 1(\.\d+)?s$`))
}

// --restart-interval: a worker is recycled after serving that long, busy or not.
func TestRecycleRestartInterval(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1",
		"--restart-interval", "2s")
	a, err := ask(freshClient(), s.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	waitRecycled(t, s, a.PID, regexp.MustCompile(`^restart-interval 2s reached$`))
}

// --cpu-time-limit: a worker whose requests burn CPU is recycled once it used that much.
func TestRecycleCPUTimeLimit(t *testing.T) {
	s := startServer(t, "testdata/recycle.py", "--processes", "1", "--cpu-time-limit", "2s")
	c := freshClient()
	first, err := ask(c, s.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20 && countLines(s.Log.String(), `msg="recycling worker"`) == 0; i++ {
		if _, err := ask(c, s.URL+"/burn"); err != nil {
			t.Fatal(err)
		}
	}
	waitRecycled(t, s, first.PID,
		regexp.MustCompile(`^cpu-time-limit 2s: used \d+\.\d+s of CPU$`))
}

// --graceful-timeout: a replaced worker whose request runs past it is killed then, instead
// of getting the whole --shutdown-timeout.
func TestRecycleGracefulTimeout(t *testing.T) {
	s := startServer(t, "testdata/slow.py", "--processes", "1", "--restart-interval", "1s",
		"--graceful-timeout", "1s")
	done := make(chan error, 1)
	go func() {
		_, err := freshClient().Get(s.URL + "/?ms=25000&id=long")
		done <- err
	}()
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

// --startup-timeout: a worker whose app takes longer to import is killed and counted as a
// boot failure (logged once, retried with back-off).
func TestRecycleStartupTimeout(t *testing.T) {
	logs, stop := startUnready(t, "testdata/slow_import.py", "--processes", "1",
		"--startup-timeout", "1s", "--listen", "127.0.0.1:0")
	deadline := time.Now().Add(20 * time.Second)
	for countLines(logs.String(), `msg="worker could not start`) == 0 &&
		time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	_ = stop()
	out := logs.String()
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

// Without --processes nothing could replace the one process: every recycling flag is refused
// with an error naming it (exit 2, nothing started).
func TestRecycleFlagsNeedProcesses(t *testing.T) {
	for _, flag := range [][]string{{"--maximum-requests", "50"},
		{"--restart-interval", "1h"}, {"--inactivity-timeout", "1m"},
		{"--cpu-time-limit", "1m"}, {"--memory-limit", "300MiB"},
		{"--startup-timeout", "1m"}, {"--graceful-timeout", "10s"}} {
		cmd := exec.Command(pyhostBin, append([]string{"serve", "testdata/hello.py",
			"--listen", "127.0.0.1:0"}, flag...)...)
		cmd.Dir = repoPath()
		out, err := cmd.CombinedOutput()
		want := regexp.MustCompile("^" + flag[0] + " [^ ]+: needs --processes")
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !want.Match(out) {
			t.Errorf("serve %s without --processes: %v, %q; want exit 2 and %q", flag, err,
				out, want)
		}
	}
}
