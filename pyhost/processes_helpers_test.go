package pyhost_test

// Helpers of the --processes tests: the answers of testdata/processes.py, clients that open a
// new connection per request, bounded load, and waiting for processes and log lines.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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

// startUnready starts `pyhost serve ARGS` (with --allow-root when run as root) without
// waiting for it to serve, for supervisors whose workers never get ready. stop sends SIGTERM
// and returns how the process exited; one still running 20 s later is killed and fails the
// test.
func startUnready(t *testing.T, args ...string) (logs *logBuffer, stop func() error) {
	t.Helper()
	cmd := exec.Command(pyhostBin, append(append([]string{"serve"}, args...), asRoot()...)...)
	cmd.Dir = repoPath()
	logs = &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return logs, func() error {
		t.Helper()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("supervisor still running 20 s after SIGTERM\n%s", logs)
			return nil
		}
	}
}
