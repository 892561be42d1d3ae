package pyhost_test

// Ending a sub-interpreter runs C destructors that re-enter Python through PyGILState_Ensure:
// sqlite3 frees the functions registered on a connection that lives as long as the
// interpreter (Django's), on the thread that ends the interpreter.

import (
	"regexp"
	"strings"
	"testing"
)

var sqliteFreedRE = regexp.MustCompile(
	`sqlite-teardown: the function registered in interpreter (\d+) was freed in interpreter (\S+)`)

// On SIGTERM every sub-interpreter ends; the sqlite3 connection the app opened at import is
// freed then, and sqlite calls the destructor of the function registered on it, which enters
// Python through PyGILState_Ensure. Before the fix, deleting the request threads' thread
// states (on 3.12+) unbound PyGILState on the thread that ends the interpreter, so the
// destructor ran in a new thread state of the MAIN interpreter: silently the wrong
// interpreter with a shared GIL, and with an own GIL the sub-interpreter's objects freed by the
// main interpreter's allocator: "free(): invalid pointer", abort, exit status 2 (Django's
// sqlite backend under --gil own on 3.13 and 3.14). Requests, which open, use and close a
// connection with a registered function each (as Django does per request), must run the
// function in their own interpreter too.
func TestSQLiteDestructorsRunInTheirInterpreterWhenItEnds(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			args := []string{"testdata/sqlite_teardown.py", "--gil", mode,
				"--application-group", "S", "--threads", "4"}
			interps := 1
			if mode != "shared" {
				args = append(args, "--interpreters", "2")
				interps = 2
			}
			s := startServer(t, args...)
			const requests = 8
			bodies, err := getConcurrently(s, "/", requests, 4)
			if err != nil {
				t.Fatalf("%v\nserver log:\n%s", err, s.Log)
			}
			for _, b := range bodies {
				f := strings.Fields(string(b))
				if len(f) != 2 || f[0] == "0" || f[1] != callbackInterp(f[0]) {
					t.Errorf("a request answered %q; want the sub-interpreter it ran in and %s, "+
						"the interpreter its sqlite function ran in", b, callbackInterp("that one"))
				}
			}
			if err := s.stop(); err != nil {
				t.Fatalf("pyhost did not exit cleanly after SIGTERM: %v\nlog:\n%s", err, s.Log)
			}
			log := s.Log.String()
			for _, crash := range []string{"Fatal Python error", "free(): ", "double free"} {
				if strings.Contains(log, crash) {
					t.Errorf("the log reports a crash (%q):\n%s", crash, log)
				}
			}
			if !strings.Contains(log, "stopped cleanly") {
				t.Errorf("pyhost exited 0 without finishing its shutdown:\n%s", log)
			}
			checkSQLiteFreedLines(t, log, requests+interps)
		})
	}
}

// callbackInterp is the interpreter a PyGILState callback of sub-interpreter sub runs in: sub
// itself on 3.12+; on 3.11, which binds PyGILState to the main interpreter on every thread
// (DESIGN rule 9, see cgo/tstate.c), the main one, as under mod_wsgi.
func callbackInterp(sub string) string {
	if linked.Minor < 12 {
		return "0"
	}
	return sub
}

// checkSQLiteFreedLines: at least min functions freed (one per request, one per interpreter
// at its end), each where callbackInterp says.
func checkSQLiteFreedLines(t *testing.T, log string, min int) {
	t.Helper()
	lines := sqliteFreedRE.FindAllStringSubmatch(log, -1)
	if len(lines) < min {
		t.Errorf("%d sqlite functions reported freed; want at least %d (each request's and "+
			"the one each interpreter kept until it ended):\n%s", len(lines), min, log)
	}
	for _, m := range lines {
		if want := callbackInterp(m[1]); m[2] != want {
			t.Errorf("the sqlite function registered in interpreter %s was freed in interpreter "+
				"%s; want %s", m[1], m[2], want)
		}
	}
}

// Django in an own-GIL sub-interpreter (one: the streaming test's gate lives in one): its sqlite backend registers functions on every
// connection, and the connection its import-time migrate opened lives until the interpreter
// ends. startServer's cleanup wants exit status 0 and "stopped cleanly" after SIGTERM (before
// the fix: "free(): invalid size", Fatal Python error: Aborted, exit status 2). Debian's Django
// is built for Debian's interpreters: the 3.14 and 3.15 runs in the forky root.
func TestDjangoInOwnGILInterpreterStopsCleanly(t *testing.T) {
	mode := ownOrFree(t, "Django in an own-GIL sub-interpreter")
	testDjango(t, "--gil", mode, "--application-group", "django")
}
