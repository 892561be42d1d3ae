package pyhost_test

// Worker processes (--processes): the answers of testdata/processes.py, finding the workers
// that serve, bounded load, the recycles a supervisor logs, and what /proc says of a process.

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// answer is what testdata/processes.py (and recycle.py) reports.
type answer struct {
	PID          int      `json:"pid"`
	Multiprocess bool     `json:"multiprocess"`
	Multithread  bool     `json:"multithread"`
	Version      string   `json:"version"`
	WorkerEnv    []string `json:"worker_env"`
}

// ask GETs url through c and decodes the app's answer; it returns what went wrong, for
// goroutines other than the test's.
func ask(c *http.Client, url string) (answer, error) {
	var a answer
	err := tryGetJSON(c, url, &a)
	return a, err
}

// mustAsk is ask for the test's goroutine: a failure fails the test.
func mustAsk(t *testing.T, c *http.Client, url string) answer {
	t.Helper()
	a, err := ask(c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return a
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

// result is one request of a load run.
type result struct {
	start time.Time
	end   time.Time
	a     answer
	err   error
}

// load sends requests for url from clients goroutines, each on a new connection, until n have
// been sent or d has passed; meanwhile it runs during (when not nil). It returns every
// request's outcome.
func load(url string, clients, n int, d time.Duration, during func()) []result {
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
		sent    atomic.Int64
	)
	end := time.Now().Add(d)
	for i := 0; i < clients; i++ {
		wg.Go(func() {
			c := freshClient()
			for sent.Add(1) <= int64(n) && time.Now().Before(end) {
				r := result{start: time.Now()}
				r.a, r.err = ask(c, url)
				r.end = time.Now()
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		})
	}
	if during != nil {
		during()
	}
	wg.Wait()
	return results
}

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

// procStat is the fields of /proc/PID/stat after the command name: state, parent pid, and
// on; ok is false once the process is reaped.
func procStat(pid int) (fields []string, ok bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	// pid (comm) STATE ...: comm may hold spaces, so read after the last ')'.
	return strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])), true
}

// gone reports whether process pid has ended (reaped, or a zombie nobody reaped yet).
func gone(pid int) bool {
	fields, ok := procStat(pid)
	return !ok || len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// waitGone waits until process pid has ended, failing the test when it still runs within
// later.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	if !eventually(within, func() bool { return gone(pid) }) {
		t.Fatalf("process %d still running %s later", pid, within)
	}
}

// procStatus is the value of the field key (without the spaces around it) in a /proc status
// file: /proc/PID/status, or a thread's /proc/PID/task/TID/status. ok is false when the file
// or the field is missing.
func procStatus(path, key string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// fdLinks is what each open file descriptor of process pid points to (/proc/PID/fd).
func fdLinks(pid int) ([]string, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	var links []string
	for _, fd := range fds {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		links = append(links, l)
	}
	return links, err
}
