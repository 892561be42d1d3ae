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
				if len(f) != 2 || f[0] == "0" || f[0] != f[1] {
					t.Errorf("a request answered %q; want \"N N\": the sub-interpreter N it ran in "+
						"and the one its sqlite function ran in", b)
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

// checkSQLiteFreedLines: at least min functions freed (one per request, one per interpreter
// at its end), each in the interpreter that registered it. 3.11 binds PyGILState to the main
// interpreter on every thread (DESIGN rule 9, see cgo/tstate.c), so there a sub-interpreter's
// destructors run in the main one (0), as its request callbacks do.
func checkSQLiteFreedLines(t *testing.T, log string, min int) {
	t.Helper()
	lines := sqliteFreedRE.FindAllStringSubmatch(log, -1)
	if len(lines) < min {
		t.Errorf("%d sqlite functions reported freed; want at least %d (each request's and "+
			"the one each interpreter kept until it ended):\n%s", len(lines), min, log)
	}
	for _, m := range lines {
		want := m[1]
		if linked.Minor < 12 {
			want = "0"
		}
		if m[2] != want {
			t.Errorf("the sqlite function registered in interpreter %s was freed in interpreter "+
				"%s; want %s", m[1], m[2], want)
		}
	}
}
