package pyhost_test

// A crash in C code called from Python (a segfault through ctypes) logs the Python stack of
// the crashing thread first and one line naming the file that holds Go's crash report, not
// some 300 lines of goroutine stacks with no Python in them.

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

var reportLine = regexp.MustCompile(`pyhost: Go's report of this crash \(pyhost's goroutine ` +
	`stacks; the Python stack is above\) is in (\S+pyhost-crash-\d+\.txt)`)

// logRecord is one whole record of pyhost's text log.
var logRecord = regexp.MustCompile(`time=\d{4}-\d\d-\d\dT[^\n]*\n`)

var goroutineDump = regexp.MustCompile(`(?m)^goroutine \d+ `)

// checkCrashLog checks the log of a process (or a supervisor's, with its workers' stderr) in
// which a request to testdata/processes.py's /segv crashed, and returns the report's path.
func checkCrashLog(t *testing.T, log string) string {
	t.Helper()
	// Other processes on the same stderr (the supervisor) write whole records, which can land
	// between two of the crashing process's writes, even mid-line: take them out first.
	log = logRecord.ReplaceAllString(log, "")
	stack := strings.Index(log, "Fatal Python error: Segmentation fault")
	frame := strings.Index(log, `testdata/processes.py", line 23 in application`)
	m := reportLine.FindStringSubmatchIndex(log)
	if stack < 0 || frame < stack || m == nil || m[0] < frame {
		t.Fatalf("want the Python stack of the crash (with processes.py's frame) and then the "+
			"line naming Go's report:\n%s", log)
	}
	if goroutineDump.MatchString(log) {
		t.Errorf("Go's goroutine stacks are on stderr; they belong in the report file:\n%s", log)
	}
	path := log[m[2]:m[3]]
	t.Cleanup(func() { os.Remove(path) })
	report, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the report file named in the log: %v", err)
	}
	if !strings.HasPrefix(string(report), "SIGSEGV: segmentation violation") ||
		!goroutineDump.Match(report) {
		t.Errorf("%s does not hold Go's crash report:\n%s", path, report)
	}
	return path
}

func TestSegfaultLogsPythonStackFirst(t *testing.T) {
	groups := []string{"%{GLOBAL}"}
	if !linked.FreeThreaded { // ctypes in a sub-interpreter: not in 3.13t's (they check extensions)
		groups = append(groups, "crashing")
	}
	for _, group := range groups {
		t.Run("single process "+group, func(t *testing.T) {
			s := startServer(t, "--mount", "/=testdata/processes.py,group="+group)
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/segv", nil)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("GET /segv answered %d; want the process to die", resp.StatusCode)
			}
			if err := s.waitExit(); exitCode(err) != 2 {
				t.Errorf("pyhost exited with %v after a segmentation fault, want 2", err)
			}
			checkCrashLog(t, s.Log.String())
		})
	}
	t.Run("worker", func(t *testing.T) {
		s := startServer(t, "testdata/processes.py", "--processes", "1")
		if a, err := ask(freshClient(), s.URL+"/segv"); err == nil {
			t.Fatalf("GET /segv answered %+v; the worker should have died", a)
		}
		waitForLines(t, s, `crash="SIGSEGV: segmentation violation"`, 1)
		path := checkCrashLog(t, s.Log.String())
		l := lineWith(s.Log.String(), `crash="SIGSEGV: segmentation violation"`)
		if !strings.Contains(l, "the worker logged the Python stack of the crashing thread "+
			"above; Go's report (pyhost's goroutine stacks) is in "+path) {
			t.Errorf("the supervisor's line does not point at the Python stack and the report: %q", l)
		}
	})
}
