package pyhost_test

// The live thread view: /debug/threads on the metrics listener, for one process and through
// the supervisor, and `pyhost top` reading it.

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var metricsListenRE = regexp.MustCompile(`msg="serving metrics".* metrics=http://(127\.0\.0\.1:\d+)/metrics`)

// metricsAddr is the address a server started with --metrics-listen 127.0.0.1:0 serves on.
func metricsAddr(t *testing.T, s *server) string {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if m := metricsListenRE.FindStringSubmatch(s.Log.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no \"serving metrics\" line in the log:\n%s", s.Log)
	return ""
}

// The JSON of /debug/threads, as a client reads it.
type threadsJSON struct {
	Time      time.Time `json:"time"`
	Processes []struct {
		PID          int    `json:"pid"`
		ProcessGroup string `json:"process_group"`
		Slot         int    `json:"slot"`
		State        string `json:"state"`
		Threads      int    `json:"threads"`
		Busy         int    `json:"busy"`
		Error        string `json:"error"`
		Requests     []struct {
			Thread           int     `json:"thread"`
			Method           string  `json:"method"`
			Path             string  `json:"path"`
			RequestID        string  `json:"request_id"`
			RunningSeconds   float64 `json:"running_seconds"`
			ApplicationGroup string  `json:"application_group"`
			Interpreter      int     `json:"interpreter"`
			Stack            string  `json:"stack"`
			StackError       string  `json:"stack_error"`
		} `json:"requests"`
	} `json:"processes"`
}

// getThreads fetches /debug/threads?QUERY and decodes it; the client's bound (20s) only
// keeps a hung endpoint from hanging the test.
func getThreads(t *testing.T, addr, query string) (threadsJSON, string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/threads?" + query)
	if err != nil {
		t.Fatalf("/debug/threads?%s: %v", query, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/threads?%s: %s: %s", query, resp.Status, body)
	}
	var v threadsJSON
	if !strings.Contains(query, "format=text") {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("/debug/threads?%s is not JSON: %v\n%s", query, err, body)
		}
	}
	return v, string(body)
}

// requestInApp starts GET path in the background and returns the request id the app logged
// once inside it.
func requestInApp(t *testing.T, s *server, path string) string {
	t.Helper()
	go func() {
		c := &http.Client{Timeout: 60 * time.Second}
		if resp, err := c.Get(s.URL + path); err == nil {
			resp.Body.Close()
		}
	}()
	re := regexp.MustCompile(`threads.py: started ` + regexp.QuoteMeta(strings.SplitN(path, "?", 2)[0]) +
		` id=([0-9a-f]+-[0-9]+)`)
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.Log.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("the app never logged the start of %s:\n%s", path, s.Log)
	return ""
}

// TestDebugThreadsStack: a request sleeping in the app shows up with its method, path, id,
// application group and a Python stack that names the app's function, in JSON and in text,
// in every GIL mode this Python has (the app in a sub-interpreter, or the main one).
func TestDebugThreadsStack(t *testing.T) {
	for _, mode := range modesHere() {
		for _, group := range []string{"%{GLOBAL}", "sub"} {
			t.Run(mode+"/"+group, func(t *testing.T) {
				if mode != "shared" && group == "%{GLOBAL}" {
					t.Skip("the main interpreter runs the same way in every mode")
				}
				s := startServer(t, "testdata/threads.py", "--gil", mode, "--threads", "4",
					"--application-group", group, "--metrics-listen", "127.0.0.1:0")
				addr := metricsAddr(t, s)
				id := requestInApp(t, s, "/sleep?ms=4000")
				v, body := getThreads(t, addr, "stacks=1")
				if len(v.Processes) != 1 {
					t.Fatalf("want one process, got:\n%s", body)
				}
				p := v.Processes[0]
				if p.PID != s.cmd.Process.Pid || p.ProcessGroup != "default" || p.Threads != 4 ||
					p.Busy != 1 || len(p.Requests) != 1 {
					t.Fatalf("want pid %d, group default, 1 of 4 threads busy, got:\n%s",
						s.cmd.Process.Pid, body)
				}
				r := p.Requests[0]
				if r.Method != "GET" || r.Path != "/sleep" || r.RequestID != id ||
					r.ApplicationGroup != group || r.Interpreter != 0 {
					t.Errorf("want GET /sleep id %s in %s, got:\n%s", id, group, body)
				}
				if !strings.Contains(r.Stack, `threads.py", line`) ||
					!strings.Contains(r.Stack, "in sleeping_in_the_app") {
					t.Errorf("the stack does not show the app's sleeping_in_the_app:\n%s", body)
				}
				_, text := getThreads(t, addr, "stacks=1&format=text")
				for _, want := range []string{"GET /sleep", "request " + id, "in sleeping_in_the_app",
					"1 of 4 request threads busy"} {
					if !strings.Contains(text, want) {
						t.Errorf("the text form lacks %q:\n%s", want, text)
					}
				}
			})
		}
	}
}

// TestDebugThreadsGILHeld: a request that holds its interpreter's GIL in C code (a stuck C
// call) does not hang /debug/threads?stacks=1: through the supervisor, every worker answers,
// and that request's entry says why its stack is missing. Free-threaded, the thread stays
// attached in C, so the world cannot be stopped to read frames: the same bound applies.
func TestDebugThreadsGILHeld(t *testing.T) {
	modes := []string{"shared"}
	if linked.FreeThreaded {
		modes = append(modes, "free")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { testDebugThreadsGILHeld(t, mode) })
	}
}

func testDebugThreadsGILHeld(t *testing.T, mode string) {
	s := startServer(t, "testdata/threads.py", "--processes", "2", "--threads", "2",
		"--gil", mode, "--metrics-listen", "127.0.0.1:0")
	addr := metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	id := requestInApp(t, s, "/hold?ms=5000")
	time.Sleep(200 * time.Millisecond) // from the log line into the C call
	v, body := getThreads(t, addr, "stacks=1&wait=300ms")
	if len(v.Processes) != 2 {
		t.Fatalf("want both workers, got:\n%s", body)
	}
	found := false
	for _, p := range v.Processes {
		if p.PID == 0 || p.ProcessGroup != "default" || p.Slot < 0 || p.State != "ready" || p.Error != "" {
			t.Errorf("worker without pid, group, slot or state, or with an error:\n%s", body)
		}
		for _, r := range p.Requests {
			if r.RequestID != id {
				continue
			}
			found = true
			if r.Path != "/hold" || r.Stack != "" || !strings.Contains(r.StackError, "did not come free") {
				t.Errorf("want /hold without a stack and a reason, got:\n%s", body)
			}
		}
	}
	if !found {
		t.Fatalf("request %s (holding the GIL) missing:\n%s", id, body)
	}
	// Asked again while the first stack request still waits for that GIL: no second wait.
	_, text := getThreads(t, addr, "stacks=1&wait=300ms&format=text")
	if !strings.Contains(text, "GET /hold") || !strings.Contains(text, "stack not taken") {
		t.Errorf("text form while the GIL is held:\n%s", text)
	}
}
