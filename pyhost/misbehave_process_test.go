package pyhost_test

// Apps that reach for the process itself: signals (SIGPIPE on an app thread, handlers
// installed at import, faulthandler) and C code that re-enters Python through PyGILState
// (ctypes callbacks, sqlite3 user functions). Whatever the app does, pyhost must serve every
// request, run callbacks in the right interpreter and still stop gracefully on SIGTERM.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// getConcurrently sends n GETs of path, at most c at a time, and returns the bodies of the
// answers; any failure or non-200 answer is an error.
func getConcurrently(s *server, path string, n, c int) ([][]byte, error) {
	var (
		mu     sync.Mutex
		bodies [][]byte
		errs   []error
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, c)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := client.Get(s.URL + path)
			var body []byte
			if err == nil {
				body, err = readAll(resp)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else {
				bodies = append(bodies, body)
			}
		}()
	}
	wg.Wait()
	return bodies, errors.Join(errs...)
}

// Item 3: a thread the app started (not one of pyhost's) writes to a socket and to a pipe
// whose peer is gone. Before SIGPIPE was ignored process-wide, that killed the server (status
// 141); now the write raises BrokenPipeError, as under plain Python.
func TestSIGPIPEOnAnAppThreadRaisesBrokenPipeError(t *testing.T) {
	s := startServer(t, "testdata/sigpipe.py", "--threads", "4")
	for i := 0; i < 3; i++ {
		var got map[string]string
		s.getJSON(t, "/", &got)
		for _, k := range []string{"socket", "pipe", "request_thread_pipe"} {
			if got[k] != "BrokenPipeError" {
				t.Errorf("round %d: writing to a closed %s raised %q, want BrokenPipeError",
					i, k, got[k])
			}
		}
	}
	// A subprocess gets SIGPIPE's default action back, as under plain Python (the subprocess
	// module restores it in the child): `yes | head` pipelines and the like keep working.
	var child map[string]string
	s.getJSON(t, "/child", &child)
	if child["child_sigpipe"] != "default" {
		t.Errorf("a subprocess started by the app has SIGPIPE %s, want default",
			child["child_sigpipe"])
	}
}

// Item 5: an app that installs handlers for SIGTERM, SIGINT and SIGHUP (and resets SIGPIPE)
// at import; each of the three still stops pyhost gracefully. Before, SIGTERM was swallowed by the app's handler (which never ran: pyhost's
// main thread runs no Python between tasks) and the server could not be stopped.
func TestSignalHandlersInstalledAtImportDoNotTakeShutdownAway(t *testing.T) {
	for name, sig := range map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT,
		"SIGHUP": syscall.SIGHUP} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, "testdata/signal_handlers.py")
			if resp, body := s.get(t, "/"); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %d %s", resp.StatusCode, body)
			}
			for _, name := range []string{"SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE"} {
				want := "the app changed how " + name + " is handled while importing " +
					"testdata/signal_handlers.py; pyhost keeps " + name
				if !strings.Contains(s.Log.String(), want) {
					t.Errorf("the log does not say that the app tried to take %s (want %q):\n%s",
						name, want, s.Log)
				}
			}
			if err := s.stopWith(sig); err != nil {
				t.Fatalf("after %v pyhost exited with %v, want exit 0; log:\n%s", sig, err, s.Log)
			}
			if !strings.Contains(s.Log.String(), "stopped cleanly") {
				t.Errorf("pyhost exited 0 after %v without finishing its shutdown:\n%s", sig, s.Log)
			}
		})
	}
	// After an app reset SIGPIPE to its default at import, an app thread writing to a closed
	// pipe still gets BrokenPipeError: the reset was undone.
	t.Run("SIGPIPE", func(t *testing.T) {
		s := startServer(t, "--mount", "/h=testdata/signal_handlers.py",
			"--mount", "/=testdata/sigpipe.py")
		s.get(t, "/h/")
		var got map[string]string
		s.getJSON(t, "/", &got)
		if got["socket"] != "BrokenPipeError" || got["pipe"] != "BrokenPipeError" {
			t.Errorf("after an app reset SIGPIPE at import, writes to closed peers gave %v, "+
				"want BrokenPipeError", got)
		}
	})
}

// faulthandler.enable() at import: requests are served, shutdown is graceful, and a real
// segmentation fault in Python code still prints the Python traceback before the process
// dies (the reason apps enable it).
func TestFaulthandlerEnabledAtImport(t *testing.T) {
	s := startServer(t, "testdata/faulthandler_import.py", "--threads", "8")
	bodies, err := getConcurrently(s, "/", 200, 16)
	if err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, s.Log)
	}
	for _, b := range bodies {
		if string(b) != "faulthandler enabled: 1\n" {
			t.Fatalf("body %q, want faulthandler enabled", b)
		}
	}
	t.Run("crash prints the Python traceback", func(t *testing.T) {
		crashPrintsPythonTraceback(t, "testdata/faulthandler_import.py", "")
	})
}

// faulthandler.enable() from inside requests, on pyhost's request threads: before, the first
// one swapped that thread's alternate signal stack (Go's, where Go's signal handler runs) for
// faulthandler's smaller one, which Py_FinalizeEx frees while the thread still points at it.
func TestFaulthandlerEnabledInARequest(t *testing.T) {
	groups := []string{"%{GLOBAL}"}
	if !linked.FreeThreaded {
		// faulthandler loads in a shared-GIL sub-interpreter; CPython refuses it in
		// sub-interpreters that check extensions (own GIL, and every one on 3.13t).
		groups = append(groups, "S")
	}
	for _, group := range groups {
		t.Run(group, func(t *testing.T) {
			s := startServer(t, "--threads", "8",
				"--mount", "/=testdata/faulthandler_request.py,group="+group)
			var first struct {
				Enabled         bool `json:"enabled"`
				SignalStackKept bool `json:"signal_stack_kept"`
			}
			s.getJSON(t, "/enable", &first)
			if !first.Enabled {
				t.Fatal("faulthandler.enable() in a request did not enable it")
			}
			if !first.SignalStackKept {
				t.Error("faulthandler.enable() in a request replaced the request thread's " +
					"alternate signal stack (Go's)")
			}
			bodies, err := getConcurrently(s, "/enable", 64, 16)
			if err == nil {
				var more [][]byte
				more, err = getConcurrently(s, "/", 200, 16)
				bodies = append(bodies, more...)
			}
			if err != nil {
				t.Fatalf("%v\nserver log:\n%s", err, s.Log)
			}
			for _, b := range bodies {
				if !strings.Contains(string(b), `"enabled": true`) ||
					strings.Contains(string(b), `"signal_stack_kept": false`) {
					t.Fatalf("body %s, want faulthandler enabled and the signal stack kept", b)
				}
			}
		})
	}
	t.Run("crash prints the Python traceback", func(t *testing.T) {
		crashPrintsPythonTraceback(t, "testdata/faulthandler_request.py", "/enable")
	})
}

// crashPrintsPythonTraceback starts app, optionally GETs enable first, then GETs /crash (a
// segmentation fault in Python code) and checks that the process died after faulthandler
// printed the Python traceback.
func crashPrintsPythonTraceback(t *testing.T, app, enable string) {
	s := startServer(t, app)
	if enable != "" {
		s.get(t, enable)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/crash", nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /crash answered %d; want the process to die", resp.StatusCode)
	}
	if err := s.waitExit(); err == nil {
		t.Fatalf("pyhost exited 0 after a segmentation fault; log:\n%s", s.Log)
	}
	for _, want := range []string{"Fatal Python error: Segmentation fault", app[len("testdata/"):], "in application"} {
		if !strings.Contains(s.Log.String(), want) {
			t.Errorf("the crash log lacks %q (faulthandler's Python traceback):\n%s", want, s.Log)
		}
	}
}

// callbackReport is what testdata/gilstate_callbacks.py answers: the request's interpreter
// and the interpreter each PyGILState callback ran in.
type callbackReport struct {
	Interp int   `json:"interp"`
	SQLite []int `json:"sqlite"`
	Ctypes []int `json:"ctypes"`
}

// Item 6: C code that re-enters Python through PyGILState_Ensure (a sqlite3 user function, a
// ctypes callback) must run in the right interpreter. Requests go to a sub-interpreter mount
// first in every round, so that pyhost's OS threads meet the sub-interpreter before the main
// one: on 3.11 CPython binds PyGILState to the first thread state made on a thread, and
// before the fix a %{GLOBAL} request's callbacks then ran inside the sub-interpreter.
//
// Where a sub-interpreter's callbacks run: 3.12+ rebinds PyGILState to every thread state
// that attaches, so they run in the request's own interpreter (the only safe place with an
// own GIL, and the right one with a shared GIL). 3.11 cannot bind a second interpreter, so
// the main interpreter owns every thread's binding (DESIGN rule 9, as under mod_wsgi) and a
// sub-interpreter's callbacks run in the main interpreter (id 0).
func TestPyGILStateCallbacksRunInTheRightInterpreter(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, "--gil", mode, "--threads", "8",
				"--mount", "/sub=testdata/gilstate_callbacks.py,group=S",
				"--mount", "/=testdata/gilstate_callbacks.py,group=%{GLOBAL}")
			wrong := map[string]int{}
			total := map[string]int{}
			for round := 0; round < 4; round++ {
				for _, mount := range []string{"/sub/", "/"} {
					bodies, err := getConcurrently(s, mount, 48, 16)
					if err != nil {
						t.Fatalf("round %d: %v\nserver log:\n%s", round, err, s.Log)
					}
					for _, b := range bodies {
						var r callbackReport
						if err := json.Unmarshal(b, &r); err != nil {
							t.Fatalf("%s: %v in %q", mount, err, b)
						}
						want := r.Interp
						if mount == "/sub/" {
							if r.Interp == 0 {
								t.Fatalf("the sub-interpreter mount ran in the main interpreter: %s", b)
							}
							if linked.Minor < 12 {
								want = 0
							}
						} else if r.Interp != 0 {
							t.Fatalf("the %%{GLOBAL} mount ran in interpreter %d: %s", r.Interp, b)
						}
						total[mount]++
						if len(r.SQLite) == 0 || len(r.Ctypes) == 0 {
							t.Fatalf("%s: no callback ran: %s", mount, b)
						}
						for _, got := range append(r.SQLite, r.Ctypes...) {
							if got != want {
								wrong[mount]++
								t.Logf("%s: a request in interpreter %d ran a callback in interpreter %d: %s",
									mount, r.Interp, got, b)
								break
							}
						}
					}
				}
			}
			for mount, n := range wrong {
				t.Errorf("%s: %d of %d requests ran a PyGILState callback in the wrong interpreter",
					mount, n, total[mount])
			}
		})
	}
}
