package pyhost_test

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
		lines := goProcsLine.FindAllStringSubmatch(s.Log.String(), -1)
		for _, m := range lines[min(seen, len(lines)):] {
			to, _ = strconv.Atoi(m[1])
			from, _ = strconv.Atoi(m[2])
			if (to-from)*want > 0 {
				cancel()
				return from, to
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no worker changed its Go processors (%+d) under requests to %s:\n%s", want, path, s.Log)
	return 0, 0
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
