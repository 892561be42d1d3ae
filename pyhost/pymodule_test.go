package pyhost_test

// The pyhost Python module (cgo/pymodule.c, cgo/pymodule.py): its constants, request_id(),
// metrics and events, in the main interpreter and in a sub-interpreter group, in every GIL
// mode the linked Python runs; and no such module outside pyhost.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const pymoduleApp = "testdata/pymodule_app.py"

// startPymodule serves testdata/pymodule_app.py at / in %{GLOBAL} and at /sub in the
// sub-interpreter group "sub".
func startPymodule(t *testing.T, args ...string) *server {
	t.Helper()
	args = append(args, "--mount", "/="+pymoduleApp+",group=%{GLOBAL}",
		"--mount", "/sub="+pymoduleApp+",group=sub")
	return startServer(t, args...)
}

type pymoduleFacts struct {
	ProcessGroup         string  `json:"process_group"`
	ApplicationGroup     string  `json:"application_group"`
	GILMode              string  `json:"gil_mode"`
	ThreadsPerProcess    int     `json:"threads_per_process"`
	MaximumProcesses     int     `json:"maximum_processes"`
	RequestID            *string `json:"request_id"`
	EnvironRequestID     string  `json:"environ_request_id"`
	OtherThreadRequestID *string `json:"other_thread_request_id"`
	ModuleFile           *string `json:"module_file"`
}

func TestPymoduleConstantsAndRequestID(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			s := startPymodule(t, "--gil", mode, "--threads", "3")
			for path, group := range map[string]string{"/facts": "%{GLOBAL}", "/sub/facts": "sub"} {
				var f pymoduleFacts
				s.getJSON(t, path, &f)
				if f.ProcessGroup != "default" || f.ApplicationGroup != group || f.GILMode != mode ||
					f.ThreadsPerProcess != 3 || f.MaximumProcesses != 1 {
					t.Errorf("GET %s: constants do not match --gil %s --threads 3 in group %s: %+v",
						path, mode, group, f)
				}
				if f.RequestID == nil || *f.RequestID != f.EnvironRequestID || f.EnvironRequestID == "" {
					t.Errorf("GET %s: request_id() is %v, environ['pyhost.request_id'] %q",
						path, str(f.RequestID), f.EnvironRequestID)
				}
				if f.OtherThreadRequestID != nil {
					t.Errorf("GET %s: request_id() in a thread the app started is %q, want None",
						path, *f.OtherThreadRequestID)
				}
				if f.ModuleFile != nil {
					t.Errorf("GET %s: the pyhost module came from a file (%s), not from pyhost",
						path, *f.ModuleFile)
				}
			}
		})
	}
}

func TestPymoduleConstantsProcesses(t *testing.T) {
	s := startServer(t, pymoduleApp, "--processes", "2", "--threads", "2")
	var f pymoduleFacts
	s.getJSON(t, "/facts", &f)
	if f.MaximumProcesses != 2 || f.ThreadsPerProcess != 2 || f.GILMode != "shared" {
		t.Errorf("--processes 2 --threads 2: %+v", f)
	}
}

type pymoduleMetrics struct {
	Process struct {
		PID               int     `json:"pid"`
		StartTime         float64 `json:"start_time"`
		RecordingSince    float64 `json:"recording_since"`
		RequestCount      int     `json:"request_count"`
		RequestBusyTime   float64 `json:"request_busy_time"`
		GILWaitTime       float64 `json:"gil_wait_time"`
		RequestExceptions int     `json:"request_exceptions"`
		ActiveRequests    int     `json:"active_requests"`
		RequestThreads    int     `json:"request_threads"`
		MemoryRSS         int64   `json:"memory_rss"`
	} `json:"process"`
	Interval struct {
		SamplePeriod        float64 `json:"sample_period"`
		RequestCount        int     `json:"request_count"`
		RequestRate         float64 `json:"request_rate"`
		RequestBusyTime     float64 `json:"request_busy_time"`
		CapacityUtilization float64 `json:"capacity_utilization"`
		ServerTime          float64 `json:"server_time"`
		RequestExceptions   int     `json:"request_exceptions"`
		RequestThreads      int     `json:"request_threads"`
	} `json:"interval"`
}

func TestPymoduleMetrics(t *testing.T) {
	s := startPymodule(t, "--threads", "2")
	// The first call starts the recording: the request making it is not counted.
	var first pymoduleMetrics
	s.getJSON(t, "/metrics", &first)
	if first.Process.RequestCount != 0 || first.Interval.RequestCount != 0 ||
		first.Process.RecordingSince < first.Process.StartTime || first.Process.PID == 0 {
		t.Fatalf("first metrics call: %+v", first)
	}
	// Requests in both interpreters count: the figures are the process's.
	for _, path := range []string{"/a", "/sub/b", "/c", "/sub/d"} {
		s.get(t, path)
	}
	if resp, _ := s.get(t, "/raise"); resp.StatusCode != 500 {
		t.Fatalf("/raise answered %d", resp.StatusCode)
	}
	var m pymoduleMetrics
	s.getJSON(t, "/metrics", &m)
	p, iv := m.Process, m.Interval
	if p.RequestCount != 5 || p.RequestExceptions != 1 || p.ActiveRequests != 1 ||
		p.RequestThreads != 2 || p.RequestBusyTime <= 0 || p.GILWaitTime < 0 || p.MemoryRSS <= 0 {
		t.Errorf("process_metrics after 5 requests (one raised), asked from a 6th: %+v", p)
	}
	if iv.RequestCount != 5 || iv.RequestExceptions != 1 || iv.SamplePeriod <= 0 ||
		iv.RequestRate <= 0 || iv.RequestBusyTime <= 0 || iv.ServerTime <= 0 ||
		iv.CapacityUtilization <= 0 || iv.CapacityUtilization > 1 || iv.RequestThreads != 2 {
		t.Errorf("request_metrics after 5 requests (one raised): %+v", iv)
	}
	// The interval restarts at each call; the process's counts go on. The previous /metrics
	// request has ended since.
	s.get(t, "/sub/e")
	var next pymoduleMetrics
	s.getJSON(t, "/metrics", &next)
	if next.Interval.RequestCount != 2 || next.Process.RequestCount != 7 {
		t.Errorf("after 2 more requests: interval counted %d (want 2), process %d (want 7)",
			next.Interval.RequestCount, next.Process.RequestCount)
	}
}

type pymoduleEvent struct {
	Name   string
	Fields map[string]any
}

func (e *pymoduleEvent) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if err := json.Unmarshal(pair[0], &e.Name); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &e.Fields)
}

// eventsByRequest groups an interpreter's recorded events by request id, keeping their order,
// and maps each request's path to its id.
func eventsByRequest(evs []pymoduleEvent) (map[string][]pymoduleEvent, map[string]string) {
	byID, idOf := map[string][]pymoduleEvent{}, map[string]string{}
	for _, e := range evs {
		id, _ := e.Fields["request_id"].(string)
		byID[id] = append(byID[id], e)
		if e.Name == "request_started" {
			idOf[e.Fields["path"].(string)] = id
		}
	}
	return byID, idOf
}

func names(evs []pymoduleEvent) string {
	var n []string
	for _, e := range evs {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

func TestPymoduleEvents(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			s := startPymodule(t, "--gil", mode, "--threads", "2")
			want := map[string]struct {
				status  int
				events  string
				outcome string
			}{
				"/hello":        {200, "request_started,request_finished", "ok"},
				"/raise":        {500, "request_started,request_exception,request_finished", "exception"},
				"/stream":       {201, "request_started,request_finished", "ok"},
				"/bad-callback": {200, "request_started,request_finished", "ok"},
			}
			for path, w := range want {
				if resp, body := s.get(t, "/sub"+path); resp.StatusCode != w.status {
					t.Fatalf("GET /sub%s: %d %s (want %d)\n%s", path, resp.StatusCode, body,
						w.status, s.Log)
				}
			}
			var evs []pymoduleEvent
			s.getJSON(t, "/sub/events", &evs)
			byID, idOf := eventsByRequest(evs)
			for path, w := range want {
				id := idOf[path]
				got := byID[id]
				if id == "" || names(got) != w.events {
					t.Errorf("%s: events %q, want %q (all: %v)", path, names(got), w.events, evs)
					continue
				}
				started, finished := got[0].Fields, got[len(got)-1].Fields
				if started["environ_id"] != id || started["request_id_now"] != id {
					t.Errorf("%s: request_started's request_id %q, environ's %v, request_id() %v",
						path, id, started["environ_id"], started["request_id_now"])
				}
				if finished["status"] != float64(w.status) || finished["outcome"] != w.outcome ||
					!(finished["duration"].(float64) > 0) || !(finished["gil_wait"].(float64) >= 0) {
					t.Errorf("%s: request_finished %v, want status %d, outcome %s", path,
						finished, w.status, w.outcome)
				}
				if path == "/raise" {
					exc := got[1].Fields
					if exc["type"] != "ValueError" || exc["message"] != "boom" || exc["has_traceback"] != true {
						t.Errorf("/raise: request_exception %v", exc)
					}
				}
			}
			// Callbacks run in the interpreter that subscribed: %{GLOBAL} saw none of these.
			var global []pymoduleEvent
			s.getJSON(t, "/events", &global)
			for _, e := range global {
				if p, _ := e.Fields["path"].(string); p != "" && p != "/events" {
					t.Errorf("%%{GLOBAL} got an event of group sub's request %s: %v", p, e)
				}
			}
			// The raising callback was logged, at both ends of its request.
			waitForLog(t, s, "raised on request_started for request "+idOf["/bad-callback"])
			waitForLog(t, s, "raised on request_finished for request "+idOf["/bad-callback"])
			waitForLog(t, s, "RuntimeError: callback failure at the start")
			// process_stopping reaches both interpreters once the server stops.
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v\n%s", err, s.Log)
			}
			for _, group := range []string{"%{GLOBAL}", "sub"} {
				line := "pymodule_app[" + group + "]: process_stopping reason=shutdown"
				if !strings.Contains(s.Log.String(), line) {
					t.Errorf("no %q in the log:\n%s", line, s.Log)
				}
			}
			if !strings.Contains(s.Log.String(), "stopped cleanly") {
				t.Errorf("the server did not stop cleanly after process_stopping:\n%s", s.Log)
			}
		})
	}
}

// A worker that recycles tells its apps why: process_stopping with reason "recycle" and the
// limit it reached, once its replacement took over and it drained.
func TestPymoduleProcessStoppingRecycle(t *testing.T) {
	s := startServer(t, pymoduleApp, "--processes", "1", "--maximum-requests", "3")
	for i := 0; i < 3; i++ {
		s.get(t, "/hello")
	}
	waitForLog(t, s, "pymodule_app[%{GLOBAL}]: process_stopping reason=recycle "+
		"detail=maximum-requests 3 reached")
}

// A request cut off at --request-timeout: the client got 504, and the events say so, with
// the RequestTimeout that interrupted the app.
func TestPymoduleEventsTimeout(t *testing.T) {
	s := startPymodule(t, "--request-timeout", "200ms", "--interrupt-timeout", "5s")
	if resp, body := s.get(t, "/sub/spin?10"); resp.StatusCode != 504 {
		t.Fatalf("GET /sub/spin?10 with --request-timeout 200ms: %d %s", resp.StatusCode, body)
	}
	// The request unwinds after Go answered: wait for its last event.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var evs []pymoduleEvent
		s.getJSON(t, "/sub/events", &evs)
		byID, idOf := eventsByRequest(evs)
		got := byID[idOf["/spin"]]
		if names(got) == "request_started,request_exception,request_finished" {
			exc, fin := got[1].Fields, got[2].Fields
			if exc["type"] != "RequestTimeout" || fin["status"] != float64(504) ||
				fin["outcome"] != "timeout" || !(fin["duration"].(float64) >= 0.2) {
				t.Errorf("timed-out request's events: %v", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed-out request's events: %v\n%s", got, s.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Under concurrent requests (own GIL and free-threaded included) every request still gets its
// events in order, with its own status.
func TestPymoduleEventsConcurrent(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			s := startPymodule(t, "--gil", mode, "--threads", "4")
			const clients, each = 4, 10
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						path := fmt.Sprintf("/sub/ok-%d-%d", c, i)
						if i%2 == 1 {
							path = fmt.Sprintf("/sub/raise-%d-%d", c, i)
						}
						s.get(t, path)
					}
				}(c)
			}
			wg.Wait()
			var evs []pymoduleEvent
			s.getJSON(t, "/sub/events", &evs)
			byID, idOf := eventsByRequest(evs)
			for c := 0; c < clients; c++ {
				for i := 0; i < each; i++ {
					path, events, status := fmt.Sprintf("/ok-%d-%d", c, i),
						"request_started,request_finished", float64(200)
					if i%2 == 1 {
						path, events, status = fmt.Sprintf("/raise-%d-%d", c, i),
							"request_started,request_exception,request_finished", 500
					}
					got := byID[idOf[path]]
					if names(got) != events || got[len(got)-1].Fields["status"] != status {
						t.Errorf("%s: events %v, want %s ending with status %v", path, got,
							events, status)
					}
				}
			}
		})
	}
}

// Outside pyhost there is no pyhost module: the interpreter pyhost is linked against fails to
// import it like any missing module. (Run from an empty folder: pyhost's source tree has a
// pyhost/ folder that Python would import as a namespace package.)
func TestPymoduleMissingOutsidePyhost(t *testing.T) {
	python := os.Getenv("PYHOST_TEST_PYTHON")
	if python == "" {
		python = "python3"
	}
	cmd := exec.Command(python, "-c", "import pyhost")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "ModuleNotFoundError: No module named 'pyhost'") {
		t.Errorf("%s -c 'import pyhost': %v\n%s", python, err, out)
	}
}
