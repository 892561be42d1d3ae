package pyhost_test

// Go's scheduler in workers among siblings: yielding before long calls into Python, and
// --go-procs auto sizing GOMAXPROCS to the requests.

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

var goProcsLine = regexp.MustCompile(`msg="Go processors for this worker's requests".* gomaxprocs=(\d+) was=(\d+)`)

// loadUntil sends requests for path from 4 clients until the log has a tuner line whose
// processors move in the direction want (-1 fewer, +1 more), or 20 s pass.
func loadUntil(t *testing.T, s *server, path string, seen int, want int) (from, to int) {
	t.Helper()
	m := loadUntilLine(t, s, path, goProcsLine, seen, func(m []string) bool {
		to, _ = strconv.Atoi(m[1])
		from, _ = strconv.Atoi(m[2])
		return (to-from)*want > 0
	})
	if m == nil {
		t.Fatalf("no worker changed its Go processors (%+d) under requests to %s:\n%s", want, path, s.Log)
	}
	return from, to
}

// loadUntilLine sends requests for path from 4 clients until a line matching re, past the
// first seen ones, satisfies ok; it returns that line's submatches, or nil after 20 s.
func loadUntilLine(t *testing.T, s *server, path string, re *regexp.Regexp, seen int,
	ok func([]string) bool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	defer wg.Wait()
	for ctx.Err() == nil {
		lines := re.FindAllStringSubmatch(s.Log.String(), -1)
		for _, m := range lines[min(seen, len(lines)):] {
			if ok(m) {
				cancel()
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

var yieldLine = regexp.MustCompile(`msg="yield before each call into Python".* yield=(true|false)`)

// Workers among siblings (by default, without --go-procs) yield their thread to the
// goroutines queued behind a request before a long call into Python, and stop once calls are
// short again.
func TestWorkersYieldBeforeLongCalls(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("needs 2 CPUs or more and no GOMAXPROCS in the environment: with one P per " +
			"worker there is nothing to yield to")
	}
	s := startServer(t, "testdata/goprocs.py", "--processes", "2", "--threads", "4")
	waitForLines(t, s, `msg="all workers ready"`, 1)
	if yieldLine.MatchString(s.Log.String()) {
		t.Fatalf("a worker yields before any request:\n%s", s.Log)
	}
	is := func(want string) func([]string) bool { return func(m []string) bool { return m[1] == want } }
	if loadUntilLine(t, s, "/slow", yieldLine, 0, is("true")) == nil {
		t.Fatalf("no worker began to yield under 2 ms requests:\n%s", s.Log)
	}
	seen := len(yieldLine.FindAllString(s.Log.String(), -1))
	if loadUntilLine(t, s, "/", yieldLine, seen, is("false")) == nil {
		t.Fatalf("no worker stopped yielding under short requests:\n%s", s.Log)
	}
	if lines := goProcsLine.FindAllString(s.Log.String(), -1); len(lines) > 0 {
		t.Errorf("without --go-procs auto, a worker changed its Go processors: %q", lines)
	}
}

// With --go-procs auto, workers among siblings size Go's scheduler to their requests: their
// share of the cores (cores ÷ processes) while requests stay a few µs in Python, all the cores
// once they stay milliseconds.
func TestWorkersTuneGoProcessorsToTheirRequests(t *testing.T) {
	if runtime.NumCPU() < 2 || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("needs 2 CPUs or more and no GOMAXPROCS in the environment: the tuner is off otherwise")
	}
	s := startServer(t, "testdata/goprocs.py", "--processes", "2", "--threads", "4",
		"--go-procs", "auto")
	waitForLines(t, s, `msg="all workers ready"`, 1)
	from, to := loadUntil(t, s, "/", 0, -1)
	if want := max(1, from/2); to != want {
		t.Errorf("short requests: %d → %d Go processors, want %d (%d cores ÷ 2 processes)",
			from, to, want, from)
	}
	seen := len(goProcsLine.FindAllString(s.Log.String(), -1))
	from2, to2 := loadUntil(t, s, "/slow", seen, +1)
	if from2 != to || to2 != from {
		t.Errorf("long requests: %d → %d Go processors, want %d → %d", from2, to2, to, from)
	}
}
