package pyhost_test

// Request deadlines: --request-timeout (504, the app interrupted, a worker recycled when a
// request will not unwind), --interrupt-timeout and --queue-timeout, in every GIL mode and
// interpreter a request can run in.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// timeoutPlacements are the GIL modes and interpreters a timed-out request can run in on the
// linked build: the main interpreter and a sub-interpreter under the shared GIL, a
// sub-interpreter with its own GIL (≥ 3.12), and both without a GIL (3.13t).
func timeoutPlacements() map[string][]string {
	p := map[string][]string{
		"shared-main": {"--gil", "shared"},
		"shared-sub":  {"--gil", "shared", "--application-group", "t"},
	}
	switch {
	case linked.FreeThreaded:
		p["free-main"] = []string{"--gil", "free"}
		p["free-sub"] = []string{"--gil", "free", "--application-group", "t"}
	case linked.Minor >= 12:
		p["own-sub"] = []string{"--gil", "own", "--application-group", "t"}
	}
	return p
}

// timeoutClient bounds a whole exchange: the request timeout plus slack, a liveness bound
// (a response that never comes fails the test instead of hanging it), not a timing assertion.
func timeoutClient(timeout time.Duration) *http.Client {
	return freshClientWithin(timeout + 5*time.Second)
}

func getWithin(t *testing.T, c *http.Client, s *server, path string) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.Get(s.URL + path)
	if err != nil {
		return nil, "", err
	}
	body, err := readAll(resp)
	return resp, string(body), err
}

func wantGatewayTimeout(t *testing.T, c *http.Client, s *server, path string) {
	t.Helper()
	resp, body, err := getWithin(t, c, s, path)
	if err != nil {
		t.Fatalf("GET %s: no response (want 504 at the deadline): %v\nlog:\n%s", path, err, s.Log)
	}
	if resp.StatusCode != http.StatusGatewayTimeout || body != "Gateway Timeout\n" {
		t.Fatalf("GET %s: %d %q, want 504\nlog:\n%s", path, resp.StatusCode, body, s.Log)
	}
}

// TestRequestTimeout: a request spinning in pure Python gets 504 at its deadline, its stack
// is logged, RequestTimeout unwinds it and frees its request thread (with --threads 1 the
// next request is served), and what it tries after the cut (start_response) raises instead of
// reaching the response; a request that finishes in time is unaffected; one whose response
// started is interrupted and its connection dropped.
func TestRequestTimeout(t *testing.T) {
	const timeout = time.Second
	for name, mode := range timeoutPlacements() {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/timeouts.py", "--threads", "1",
				"--request-timeout", timeout.String()}, mode...)...)
			c := timeoutClient(timeout)

			if resp, body, err := getWithin(t, c, s, "/quick?ms=50"); err != nil ||
				resp.StatusCode != 200 || body != "quick" {
				t.Fatalf("a request well within the timeout: %v %v %q", err, resp, body)
			}

			wantGatewayTimeout(t, c, s, "/spin")
			waitForLog(t, s, "request timed out: answered 504")
			waitForLog(t, s, "in spin_forever")
			waitForLog(t, s, "in application")
			// One request thread: this is served only once the spinning request unwound.
			if resp, body, err := getWithin(t, c, s, "/hello"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("after the spinning request's 504, the next request: %v %v %q\nlog:\n%s",
					err, resp, body, s.Log)
			}
			waitForLog(t, s, "timed-out request unwound; its request thread is free again")

			wantGatewayTimeout(t, c, s, "/late")
			_, calls, err := getWithin(t, c, s, "/late-calls")
			if err != nil || calls != "caught pyhost.RequestTimeout\nstart_response raised RequestTimeout" {
				t.Fatalf("a timed-out request that catches RequestTimeout and calls "+
					"start_response: %q (%v)\nlog:\n%s", calls, err, s.Log)
			}

			// The response started: no 504 can be sent; the app is interrupted all the same
			// and the client sees the response cut short.
			resp, body, err := getWithin(t, c, s, "/stream")
			if err == nil || resp == nil || resp.StatusCode != 200 {
				t.Fatalf("a streamed response at its deadline: %v %v %q, want 200 then a "+
					"dropped connection", err, resp, body)
			}
			waitForLog(t, s, "its response had started, so no 504")
			waitForLog(t, s, "in stream_then_spin")
			stillServes(t, s, "timed-out requests")
			if strings.Contains(s.Log.String(), "RECYCLE NEEDED") {
				t.Errorf("a request that unwound was reported stuck:\n%s", s.Log)
			}
		})
	}
}

// TestRequestTimeoutBlockedInC: a request blocked in time.sleep(60), where no exception can
// reach it, still gets its 504 at the deadline with its stack logged, the server serves the
// next request on another thread, and once --interrupt-timeout passes without the request
// unwinding, pyhost says the worker must be recycled. A stop then does not wait for it
// (nobody waits for its response any more): it exits without finalising Python, naming the
// request it left running, long before --shutdown-timeout.
func TestRequestTimeoutBlockedInC(t *testing.T) {
	const timeout = time.Second
	placements := timeoutPlacements()
	placements["worker"] = []string{"--processes", "1"}
	for name, mode := range placements {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A shutdown timeout longer than the harness waits for a stop: a stop that
			// waits for the abandoned request fails the test.
			s := startServer(t, append([]string{"testdata/timeouts.py", "--threads", "2",
				"--request-timeout", timeout.String(), "--interrupt-timeout", "1s",
				"--shutdown-timeout", "120s"}, mode...)...)
			c := timeoutClient(timeout)
			wantGatewayTimeout(t, c, s, "/sleep")
			waitForLog(t, s, "request timed out: answered 504")
			waitForLog(t, s, "in sleep_in_c")
			stillServes(t, s, "a request blocked in C timed out")
			waitForLog(t, s, "RECYCLE NEEDED")
			if err := s.stop(); err == nil {
				t.Errorf("exit 0 although Python could not be finalised under a running request")
			}
			log := s.Log.String()
			if !regexp.MustCompile(`stopping without this request.* request_id=\S+ method=GET path=/sleep`).MatchString(log) ||
				strings.Contains(log, "requests still running after the shutdown timeout") {
				t.Errorf("a stop with only the abandoned request left: want it named and no "+
					"wait for the shutdown timeout:\n%s", log)
			}
		})
	}
}

// TestStopWaitsForOwedRequestsBesideAbandoned: a stop with an abandoned request (answered
// 504, stuck in C) still waits for a request whose client waits for its response.
func TestStopWaitsForOwedRequestsBesideAbandoned(t *testing.T) {
	s := startServer(t, "testdata/timeouts.py", "--threads", "2", "--request-timeout", "1s",
		"--interrupt-timeout", "1s", "--shutdown-timeout", "120s")
	wantGatewayTimeout(t, timeoutClient(time.Second), s, "/sleep")
	type result struct {
		status int
		body   string
		err    error
	}
	owed := make(chan result, 1)
	go func() {
		// Under the request timeout: it must be answered, by the app.
		resp, err := timeoutClient(5 * time.Second).Get(s.URL + "/quick?ms=700&id=owed")
		if err != nil {
			owed <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		owed <- result{resp.StatusCode, string(b), err}
	}()
	waitForLog(t, s, "timeouts.py: started id=owed")
	if err := s.stop(); err == nil {
		t.Errorf("exit 0 although Python could not be finalised under a running request")
	}
	if r := <-owed; r.err != nil || r.status != 200 || r.body != "quick" {
		t.Errorf("the request in flight at the stop: %d %q %v, want 200 quick", r.status, r.body, r.err)
	}
	if !strings.Contains(s.Log.String(), "stopping without this request") {
		t.Errorf("the abandoned request was not named:\n%s", s.Log)
	}
}

// TestQueueTimeout: with one request thread busy, a request that waits longer than
// --queue-timeout for it gets 503 and a log line; the busy request is unaffected.
func TestQueueTimeout(t *testing.T) {
	s := startServer(t, "testdata/timeouts.py", "--threads", "1", "--queue-timeout", "300ms")
	c := timeoutClient(3 * time.Second)
	type result struct {
		resp *http.Response
		body string
		err  error
	}
	long := make(chan result, 1)
	go func() {
		resp, err := c.Get(s.URL + "/quick?ms=3000&id=long")
		if err != nil {
			long <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		long <- result{resp, string(body), err}
	}()
	waitForLog(t, s, "timeouts.py: started id=long")
	resp, body, err := getWithin(t, c, s, "/hello")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request queued past --queue-timeout: %v %v %q, want 503", err, resp, body)
	}
	waitForLog(t, s, "waited longer than --queue-timeout")
	r := <-long
	if r.err != nil || r.resp.StatusCode != 200 || r.body != "quick" {
		t.Fatalf("the request holding the thread: %v %v %q", errors.Unwrap(r.err), r.resp, r.body)
	}
	stillServes(t, s, "a queue timeout")
}

// TestRequestTimeoutHoldingGIL: a request stuck in C code that keeps the GIL (a regex that
// backtracks for minutes) still gets its 504 at the deadline — answering needs no GIL — and
// is reported for recycling after --interrupt-timeout, although no stack can be read and no
// exception raised while the GIL stays taken.
func TestRequestTimeoutHoldingGIL(t *testing.T) {
	const timeout = time.Second
	for name, mode := range timeoutPlacements() {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/timeouts.py", "--threads", "2",
				"--request-timeout", timeout.String(), "--interrupt-timeout", "1s",
				"--shutdown-timeout", "1s"}, mode...)...)
			wantGatewayTimeout(t, timeoutClient(timeout), s, "/regex")
			waitForLog(t, s, "RECYCLE NEEDED")
			_ = s.stop()
		})
	}
}

// TestRequestTimeoutRace: requests that end around their deadline, many times over on four
// request threads. Each gets its own response or a 504, never a 500: a RequestTimeout sent
// as a request ended is withdrawn, never raised in the next request on that thread state,
// and a timer that fires late never touches the next request.
func TestRequestTimeoutRace(t *testing.T) {
	s := startServer(t, "testdata/timeouts.py", "--threads", "4", "--request-timeout", "20ms")
	c := timeoutClient(time.Second)
	const clients, each = 4, 40
	errs := make(chan error, clients)
	var timedOut, served atomic.Int64
	for i := 0; i < clients; i++ {
		go func(i int) {
			for j := 0; j < each; j++ {
				ms := (i*each + j) % 40 // around the 20 ms deadline
				path := "/quick?ms=" + strconv.Itoa(ms)
				if j%3 == 0 {
					path = "/hello"
				}
				resp, body, err := getWithin(t, c, s, path)
				switch {
				case err != nil:
					errs <- fmt.Errorf("GET %s: %v", path, err)
					return
				case resp.StatusCode == http.StatusGatewayTimeout:
					timedOut.Add(1)
				case resp.StatusCode == 200 && (body == "quick" || body == "Hello, World!\n"):
					served.Add(1)
				default:
					errs <- fmt.Errorf("GET %s: %d %q", path, resp.StatusCode, body)
					return
				}
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("%v\nlog:\n%s", err, s.Log)
		}
	}
	t.Logf("%d served, %d timed out", served.Load(), timedOut.Load())
	if strings.Contains(s.Log.String(), "WSGI application failed") {
		t.Errorf("a request failed (a stray RequestTimeout?):\n%s", s.Log)
	}
	stillServes(t, s, "racing deadlines")
}

// TestRequestTimeoutUndelivered: the deadline passes while a finished response's close() is in
// C code, so the RequestTimeout sent to the request's thread is never raised there; the next
// requests on that thread must not get it.
func TestRequestTimeoutUndelivered(t *testing.T) {
	for name, mode := range timeoutPlacements() {
		if !strings.HasSuffix(name, "-main") {
			continue // ctypes, the way into C here, loads only in the main interpreter
		}
		t.Run(name, func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/timeouts.py", "--threads", "1",
				"--request-timeout", "200ms"}, mode...)...)
			c := timeoutClient(time.Second)
			for i := 0; i < 3; i++ {
				if resp, body, err := getWithin(t, c, s, "/close-in-c"); err != nil ||
					resp.StatusCode != 200 || body != "done" {
					t.Fatalf("a response complete before the deadline: %v %v %q", err, resp, body)
				}
				waitForLog(t, s, "RequestTimeout raised in its thread")
				for j := 0; j < 5; j++ {
					if resp, body, err := getWithin(t, c, s, "/hello"); err != nil || resp.StatusCode != 200 {
						t.Fatalf("a request after one whose RequestTimeout was never raised: "+
							"%v %v %q\nlog:\n%s", err, resp, body, s.Log)
					}
				}
			}
		})
	}
}

// TestStuckRequestRecyclesItsWorker: under --processes, a request that does not unwind within
// --interrupt-timeout after its 504 (blocked in C, where RequestTimeout cannot reach it) makes
// its worker ask the supervisor for a replacement: a new worker starts, the old one drains
// (bounded by --shutdown-timeout, since the stuck request never ends) and the server serves on.
func TestStuckRequestRecyclesItsWorker(t *testing.T) {
	s := startServer(t, "testdata/timeouts.py", "--processes", "1", "--threads", "2",
		"--request-timeout", "1s", "--interrupt-timeout", "1s", "--shutdown-timeout", "1s")
	wantGatewayTimeout(t, timeoutClient(time.Second), s, "/sleep")
	waitForLog(t, s, "recycling worker")
	waitForLines(t, s, "worker ready", 2)
	waitForLog(t, s, "worker stopped")
	stillServes(t, s, "its worker was recycled")
}
