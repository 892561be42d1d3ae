package pyhost_test

// The live thread view: /debug/threads on the metrics listener, for one process and through
// the supervisor, and `pyhost top` reading it.

import (
	"strings"
	"testing"
	"time"
)

// TestDebugThreadsStack: a request sleeping in the app shows up with its method, path, id,
// application group and a Python stack that names the app's function, in JSON and in text,
// in every GIL mode this Python has (the app in a sub-interpreter, or the main one).
func TestDebugThreadsStack(t *testing.T) {
	for _, mode := range gilModes() {
		for _, group := range []string{"%{GLOBAL}", "sub"} {
			t.Run(mode+"/"+group, func(t *testing.T) {
				if mode != "shared" && group == "%{GLOBAL}" {
					t.Skip("the main interpreter runs the same way in every mode")
				}
				s := startServer(t, "testdata/threads.py", "--gil", mode, "--threads", "4",
					"--application-group", group, "--metrics-listen", "127.0.0.1:0")
				addr := metricsAddr(t, s)
				id := requestInApp(t, s, "/sleep?ms=4000")
				// The app logs its start line from inside wsgi.errors.write: a look at once
				// can still find the thread there, before it reaches sleeping_in_the_app.
				var v threadsJSON
				var body string
				eventually(3*time.Second, func() bool {
					v, body = getThreads(t, addr, "stacks=1")
					return strings.Contains(body, "in sleeping_in_the_app")
				})
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

// TestDebugThreadsProcessGroups: the supervisor's view covers every worker of every process
// group, and pyhost top shows each group with its workers.
func TestDebugThreadsProcessGroups(t *testing.T) {
	// group a: 2 processes × 2 threads at /a; group b: 1 × 3 at /b, in application group shop.
	app := repoPath("testdata", "threads.py")
	config := groupsConfig(t, groupTable("a", "processes = 2", "threads = 2")+groupTable("b", "threads = 3")+
		mountTable("/a", app, "a")+mountTable("/b", app, "b", `application-group = "shop"`))
	s := startServer(t, "--config", config, "--metrics-listen", "127.0.0.1:0")
	addr := metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	id := requestInAppAs(t, s, "/b/sleep?ms=5000", "/sleep")
	v, body := getThreads(t, addr, "stacks=1")
	workers := map[string]int{}
	for _, p := range v.Processes {
		workers[p.ProcessGroup]++
		if p.PID == 0 || p.Slot < 0 || p.Error != "" {
			t.Errorf("a worker without pid or slot, or with an error:\n%s", body)
		}
		for _, r := range p.Requests {
			if r.RequestID == id && (p.ProcessGroup != "b" || r.Path != "/b/sleep" ||
				r.ApplicationGroup != "shop" || !strings.Contains(r.Stack, "in sleeping_in_the_app")) {
				t.Errorf("request %s: want /b/sleep in process group b, application group shop, "+
					"with the app's frame:\n%s", id, body)
			}
		}
	}
	if workers["a"] != 2 || workers["b"] != 1 {
		t.Fatalf("want 2 workers of group a and 1 of b, got %v:\n%s", workers, body)
	}
	out := topOnce(t, addr)
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "a" || f[0] == "b") && rows[f[0]] == "" {
			rows[f[0]] = f[1]
		}
	}
	if rows["a"] != "2" || rows["b"] != "1" || !strings.Contains(out, id) {
		t.Errorf("want group rows a (2 workers) and b (1) and request %s:\n%s", id, out)
	}
}
