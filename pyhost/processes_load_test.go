package pyhost_test

// --processes under load from 16 clients (3 s, at most 20,000 requests, each on a new
// connection): a worker killed, a reload, a reload whose code is broken; and how a burst of
// kept-alive clients spreads over the workers.

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
	results := load(s.URL+"/", 16, 20000, 3*time.Second, func() {
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
	app, version := filepath.Join(dir, "app.py"), filepath.Join(dir, "version.txt")
	copyTestdata(t, "processes.py", app)
	writeFile(t, version, "v1")
	s := startServer(t, app, "--processes", "2")
	old := workerPIDs(t, s, 2)
	results := load(s.URL+"/", 16, 20000, 3*time.Second, func() {
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

// A reload whose new code cannot be imported leaves the old workers serving: they drain only
// once a replacement is ready, and the failing replacement backs off.
func TestProcessesReloadWithBrokenCodeKeepsServing(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.py")
	copyTestdata(t, "processes.py", app)
	s := startServer(t, app, "--processes", "2")
	old := workerPIDs(t, s, 2)
	writeFile(t, app, "import no_such_module_after_the_edit\n")
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

// Workers share the listening sockets, and each accepts what reaches it first: a burst of
// kept-alive clients (a proxy's upstream pool) could all land in one worker while its sibling
// idles. A worker holding twice its request threads in connections leaves new ones to a
// sibling: with 2 workers × 1 thread, 6 clients connecting at once are served by both.
func TestKeptAliveBurstSpreadsOverWorkers(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2", "--threads", "1")
	workerPIDs(t, s, 2)
	var mu sync.Mutex
	served := map[int]int{} // worker pid → connections it served
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := keptAliveClient()
			<-start
			pid := 0
			for j := 0; j < 5; j++ {
				a, err := ask(c, s.URL+"/")
				if err != nil {
					t.Error(err)
					return
				}
				if pid != 0 && a.PID != pid {
					t.Errorf("one kept-alive connection answered by %d, then %d", pid, a.PID)
				}
				pid = a.PID
			}
			mu.Lock()
			served[pid]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if len(served) != 2 {
		t.Errorf("6 kept-alive clients served by %v (worker pid → connections); want both workers", served)
	}
}
