package pyhost_test

// The app's error output as records of pyhost's log (testdata/logrecords.py, a Flask app):
// every line pyhost writes to stderr is one record in the chosen format; what the app writes
// at once (a traceback, a record of Python's logging, a multi-line print to sys.stderr) is one
// record; a record of logging keeps its level and names its logger.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// logRecordsPaths are the app's paths, each a way of writing to the error output.
var logRecordsPaths = []string{"/raise", "/log", "/print", "/print_exc", "/lastresort", "/warn",
	"/bytes", "/thread"}

// startLogRecords serves testdata/logrecords.py (Flask from Debian's packages, which the
// builds of other Pythons import through --python-path) and requests every path of it.
func startLogRecords(t *testing.T, args ...string) *server {
	t.Helper()
	s := startServer(t, append([]string{repoPath("testdata", "logrecords.py"),
		"--python-path", debianDistPackages}, args...)...)
	for _, p := range logRecordsPaths {
		resp, body := s.get(t, p)
		want := http.StatusOK
		if p == "/raise" {
			want = http.StatusInternalServerError
		}
		if resp.StatusCode != want {
			t.Fatalf("GET %s: status %d, want %d: %s\n%s", p, resp.StatusCode, want, body, s.Log)
		}
	}
	waitForLog(t, s, "error from a thread of the app")
	return s
}

// appLogRecord is one JSON record of pyhost's log, with the fields the app's records have.
type appLogRecord struct {
	Level       string `json:"level"`
	Msg         string `json:"msg"`
	Text        string `json:"text"`
	Logger      string `json:"logger"`
	PythonLevel string `json:"python_level"`
	RequestID   string `json:"request_id"`
}

// With --log-format json, every line on stderr (the server's whole life: the app's import, a
// Flask view that raises, logging at every level, prints, warnings, a thread, the shutdown)
// is one JSON object, and a record of logging has its level.
func TestLogRecordsJSONEveryLine(t *testing.T) { testLogRecordsJSON(t) }

// The same in an own-GIL sub-interpreter (≥ 3.12) or free-threaded (3.13t), each with its
// own sys.stderr.
func TestLogRecordsJSONInMode(t *testing.T) {
	mode := ownOrFree(t, "the app's records in own/free mode (TestLogRecordsJSONEveryLine covers 3.11)")
	testLogRecordsJSON(t, "--gil", mode)
}

func testLogRecordsJSON(t *testing.T, args ...string) {
	s := startLogRecords(t, append([]string{"--log-format", "json"}, args...)...)
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Log)
	}
	var recs []appLogRecord
	for _, line := range strings.Split(strings.TrimSuffix(s.Log.String(), "\n"), "\n") {
		var rec appLogRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON (%v): %q", err, line)
			continue
		}
		recs = append(recs, rec)
	}
	if t.Failed() {
		t.Fatalf("log:\n%s", s.Log)
	}
	for _, c := range []struct{ text, level, pyLevel, msg string }{
		{"debug from flask", "DEBUG", "", "wsgi.errors"},
		{"info from flask", "INFO", "", "wsgi.errors"},
		{"warning from flask", "WARN", "", "wsgi.errors"},
		{"error from flask\nits second line", "ERROR", "", "wsgi.errors"},
		{"critical from flask", "ERROR", "CRITICAL", "wsgi.errors"},
		{"Exception on /raise [GET]\nTraceback (most recent call last):", "ERROR", "", "wsgi.errors"},
		{"from the last resort\nsecond", "WARN", "", "sys.stderr"},
		{"error from a thread of the app", "ERROR", "", "sys.stderr"},
	} {
		rec, n := findRecord(recs, c.text)
		switch {
		case n != 1:
			t.Errorf("%d records hold %q, want 1", n, c.text)
		case rec.Level != c.level || rec.PythonLevel != c.pyLevel || rec.Msg != c.msg:
			t.Errorf("record of %q: level %q python_level %q msg %q, want %q %q %q", c.text,
				rec.Level, rec.PythonLevel, rec.Msg, c.level, c.pyLevel, c.msg)
		case rec.Logger == "":
			t.Errorf("record of %q names no logger: %+v", c.text, rec)
		}
	}
	if rec, _ := findRecord(recs, "RuntimeError: raised in a view\nwith a second line"); rec.RequestID == "" {
		t.Errorf("the view's traceback is not in the record of its request: %+v", rec)
	}
	if t.Failed() {
		t.Logf("log:\n%s", s.Log)
	}
}

// findRecord returns the record whose text holds text, and how many do.
func findRecord(recs []appLogRecord, text string) (appLogRecord, int) {
	var found appLogRecord
	n := 0
	for _, r := range recs {
		if strings.Contains(r.Text, text) {
			found = r
			n++
		}
	}
	return found, n
}

// In text mode too, what the app writes at once is one record, on one line: a Flask view's
// traceback, traceback.print_exc() (which writes a frame at a time), a print() of several
// lines to sys.stderr, a write of several lines to wsgi.errors or sys.stderr.buffer, a warning
// and a multi-line print at import time.
func TestLogRecordsTextOneLineEach(t *testing.T) {
	s := startLogRecords(t)
	log := s.Log.String()
	for _, want := range []string{
		`level=ERROR msg=wsgi.errors request_id=\S+ logger=\S+ text="\[[^"]*\] ERROR in app: ` +
			`Exception on /raise \[GET\]\\nTraceback \(most recent call last\):\\n.*` +
			`RuntimeError: raised in a view\\nwith a second line"$`,
		`level=WARN msg=sys.stderr request_id=\S+ text="Traceback \(most recent call last\):\\n.*` +
			`KeyError: 'missing key'"$`,
		`level=WARN msg=sys.stderr request_id=\S+ text="printed one\\nprinted two\\nprinted three"$`,
		`level=WARN msg=wsgi.errors request_id=\S+ text="errors one\\nerrors two"$`,
		`level=WARN msg=sys.stderr request_id=\S+ text="bytes one\\nbytes two"$`,
		`level=WARN msg=sys.stderr request_id=\S+ text=".*logrecords.py:\d+: UserWarning: a warning of the app\\n.*"$`,
		`level=WARN msg=sys.stderr text="import-time line one\\nimport-time line two"$`,
	} {
		re := regexp.MustCompile(`(?m)^time=\S+ ` + want)
		if !re.MatchString(log) {
			t.Errorf("no line matches %s", re)
		}
	}
	for _, once := range []string{"raised in a view", "missing key", "printed two", "errors two"} {
		if n := countLines(log, once); n != 1 {
			t.Errorf("%d lines hold %q, want 1 record", n, once)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a stderr line is not a record: %q", line)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", log)
	}
}
