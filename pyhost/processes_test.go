package pyhost_test

// --processes: a supervisor that never starts Python and N worker processes accepting on the
// sockets it bound (issue 7's process model for one group). Every test runs the real binary
// on loopback; load is bounded in clients and time.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// answer is what testdata/processes.py reports.
type answer struct {
	PID          int      `json:"pid"`
	Multiprocess bool     `json:"multiprocess"`
	Multithread  bool     `json:"multithread"`
	Version      string   `json:"version"`
	WorkerEnv    []string `json:"worker_env"`
}

// freshClient opens a new connection per request, so that consecutive requests land on
// whichever worker accepts first rather than on the one a kept-alive connection belongs to.
func freshClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}
}

func ask(c *http.Client, url string) (answer, error) {
	var a answer
	resp, err := c.Get(url)
	if err != nil {
		return a, err
	}
	body, err := readAll(resp)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return a, json.Unmarshal(body, &a)
}

// workerPIDs asks until n different worker pids answered: 8 requests at a time (one client
// in a row tends to stay with the worker that accepted last), at most 50 rounds.
func workerPIDs(t *testing.T, s *server, n int) map[int]bool {
	t.Helper()
	waitForLines(t, s, `msg="all workers ready"`, 1)
	c := freshClient()
	seen := map[int]bool{}
	for round := 0; round < 50 && len(seen) < n; round++ {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs []error
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := ask(c, s.URL+"/")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				seen[a.PID] = true
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %v\n%s", round, errs[0], s.Log)
		}
	}
	if len(seen) < n {
		t.Fatalf("400 requests reached %d worker(s) %v, want %d\n%s", len(seen), seen, n, s.Log)
	}
	return seen
}

// gone reports whether process pid has ended (reaped, or a zombie nobody reaped yet).
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: comm may hold spaces, so read after the last ')'.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running %s later", pid, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// result is one request of a load run.
type result struct {
	start time.Time
	end   time.Time
	a     answer
	err   error
}

// load sends requests from clients goroutines, each a new connection, for d (and at most
// 20,000 in all); meanwhile it runs during. It returns every request's outcome.
func load(url string, clients int, d time.Duration, during func()) []result {
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	end := time.Now().Add(d)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := freshClient()
			for time.Now().Before(end) {
				r := result{start: time.Now()}
				r.a, r.err = ask(c, url)
				r.end = time.Now()
				mu.Lock()
				results = append(results, r)
				full := len(results) >= 20000
				mu.Unlock()
				if full {
					return
				}
			}
		}()
	}
	during()
	wg.Wait()
	return results
}

func countLines(log, substr string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

func waitForLines(t *testing.T, s *server, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for countLines(s.Log.String(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log never had %d lines with %q:\n%s", n, substr, s.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if ppid, _ := strconv.Atoi(fields[1]); ppid != s.cmd.Process.Pid {
			t.Errorf("worker %d's parent is %d, want the supervisor %d", pid, ppid, s.cmd.Process.Pid)
		}
	}
}

// kill -9 of one of two workers under load from 16 clients: only requests that were in
// flight when it died may fail; every later one succeeds, and a replacement appears.
func TestProcessesWorkerKilledUnderLoad(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2")
	before := workerPIDs(t, s, 2)
	var victim int
	for pid := range before {
		victim = pid
		break
	}
	var diedBy time.Time
	results := load(s.URL+"/", 16, 3*time.Second, func() {
		time.Sleep(time.Second)
		_ = syscall.Kill(victim, syscall.SIGKILL)
		waitGone(t, victim, 5*time.Second)
		diedBy = time.Now()
	})
	failed, later := 0, 0
	for _, r := range results {
		if r.err != nil {
			failed++
			if !r.start.Before(diedBy) {
				t.Errorf("a request started after worker %d had died failed: %v", victim, r.err)
			}
		} else if r.start.After(diedBy) {
			later++
		}
	}
	t.Logf("%d requests, %d failed (in flight on the killed worker), %d after its death",
		len(results), failed, later)
	if later == 0 {
		t.Fatalf("no request succeeded after the worker died\n%s", s.Log)
	}
	waitForLines(t, s, `status="signal SIGKILL (killed)"`, 1)
	waitForLines(t, s, `msg="worker ready"`, 3) // two at start, then the replacement
	after := workerPIDs(t, s, 2)
	if after[victim] || len(after) != 2 {
		t.Fatalf("workers answering after the kill: %v (killed %d, before %v)", after, victim, before)
	}
}

// SIGHUP under load from 16 clients: new workers load the code anew, the old ones drain, and
// not one request fails; afterwards only the new code answers.
func TestProcessesReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(repoPath("testdata", "processes.py"))
	if err != nil {
		t.Fatal(err)
	}
	app, version := filepath.Join(dir, "app.py"), filepath.Join(dir, "version.txt")
	if err := os.WriteFile(app, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(version, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, app, "--processes", "2")
	old := workerPIDs(t, s, 2)
	results := load(s.URL+"/", 16, 3*time.Second, func() {
		time.Sleep(time.Second)
		if err := os.WriteFile(version, []byte("v2"), 0o644); err != nil {
			t.Error(err)
		}
		_ = s.cmd.Process.Signal(syscall.SIGHUP)
	})
	versions := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			t.Errorf("request started %s (ended %s) failed during the reload: %v",
				r.start.UTC().Format("15:04:05.000"), r.end.UTC().Format("15:04:05.000"), r.err)
			continue
		}
		versions[r.a.Version]++
	}
	t.Logf("%d requests during the reload, answers by version: %v", len(results), versions)
	if t.Failed() {
		t.Log(s.Log)
	}
	// Both old workers drain and exit; then every answer is the new code's.
	for pid := range old {
		waitGone(t, pid, 15*time.Second)
	}
	c := freshClient()
	for i := 0; i < 50; i++ {
		a, err := ask(c, s.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
		if a.Version != "v2" || old[a.PID] {
			t.Fatalf("after the reload, pid %d answered version %q, want a new worker with v2",
				a.PID, a.Version)
		}
	}
}

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
	cmd := exec.Command(pyhostBin, "serve", "testdata/broken_import.py", "--processes", "1",
		"--listen", "127.0.0.1:0")
	cmd.Dir = repoPath()
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(3500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("supervisor exited with %v after SIGTERM, want 0\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("supervisor still running 20 s after SIGTERM\n%s", logs)
	}
	out := logs.String()
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

// SIGKILL of the supervisor takes its workers with it (parent-death signal): no orphans.
func TestProcessesSupervisorKilledLeavesNoOrphans(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2")
	workers := workerPIDs(t, s, 2)
	if err := s.stopWith(t, syscall.SIGKILL); err == nil {
		t.Fatal("the supervisor exited 0 after SIGKILL")
	}
	for pid := range workers {
		waitGone(t, pid, 3*time.Second)
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
		if exitCode(s.stop()) != 1 {
			t.Errorf("exit %v after a stop with a request in flight, want 1\n%s", s.exitErr, s.Log)
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
		if exitCode(s.stop()) != 1 {
			t.Errorf("exit %v after killing a worker, want 1\n%s", s.exitErr, s.Log)
		}
		if !strings.Contains(s.Log.String(), "still running after the shutdown timeout; killing it") {
			t.Errorf("the supervisor did not log the kill\n%s", s.Log)
		}
	})
}

// A reload whose new code cannot be imported leaves the old workers serving: they drain only
// once a replacement is ready, and the failing replacement backs off.
func TestProcessesReloadWithBrokenCodeKeepsServing(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(repoPath("testdata", "processes.py"))
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "app.py")
	if err := os.WriteFile(app, src, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, app, "--processes", "2")
	old := workerPIDs(t, s, 2)
	if err := os.WriteFile(app, []byte("import no_such_module_after_the_edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	waitForLines(t, s, "No module named 'no_such_module_after_the_edit'", 1)
	waitForLines(t, s, `msg="worker could not start`, 2) // both slots' replacements
	c := freshClient()
	for i := 0; i < 20; i++ {
		a, err := ask(c, s.URL+"/")
		if err != nil {
			t.Fatalf("request %d after the failed reload: %v\n%s", i, err, s.Log)
		}
		if !old[a.PID] {
			t.Fatalf("pid %d answered; want one of the old workers %v", a.PID, old)
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
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
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
