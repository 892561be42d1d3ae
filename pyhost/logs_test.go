package pyhost_test

// Logs through the real binary: the access log's lines (combined and JSON) checked field by
// field against the requests sent, JSON records of pyhost's own log, request ids (trusted,
// untrusted, invalid), wsgi.errors lines and unraisable exceptions carrying the request id,
// and log rotation with SIGUSR1 (one process, and two workers appending under load).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sent is a request of the access-log tests and what its answer said.
type sent struct {
	method, uri, referer, agent string
	status                      int
	bytes                       int64
	id                          string // the response's X-Request-Id
	bodyID                      string // environ["pyhost.request_id"] as the app saw it
	pid                         int
}

func sendLogged(t *testing.T, s *server, method, uri, referer, agent string) sent {
	t.Helper()
	hdr := []string{"User-Agent", agent}
	if referer != "" {
		hdr = append(hdr, "Referer", referer)
	}
	resp, body := s.do(t, method, uri, nil, hdr...)
	var got struct {
		RequestID string `json:"request_id"`
		PID       int    `json:"pid"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s %s: %v: %s", method, uri, err, body)
	}
	return sent{method: method, uri: uri, referer: referer, agent: agent,
		status: resp.StatusCode, bytes: int64(len(body)), id: resp.Header.Get("X-Request-Id"),
		bodyID: got.RequestID, pid: got.PID}
}

func testAccessLogFields(t *testing.T, format string) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/logs.py", "--access-log", path, "--access-log-format", format)
	reqs := []sent{
		sendLogged(t, s, http.MethodGet, "/", "", "agent/1"),
		sendLogged(t, s, http.MethodGet, "/a/b?status=404&x=%22q%22", "http://ref.example/p", `quote " and \ back`),
		sendLogged(t, s, http.MethodPost, "/post?status=201", "", "agent/3 é"),
	}
	entries := readAccessLog(t, path, len(reqs), format == "json")
	seen := map[string]bool{}
	for i, e := range entries {
		r := reqs[i] // one client, one request at a time: lines come in order
		if r.id == "" || r.id != r.bodyID {
			t.Fatalf("response X-Request-Id %q, app saw %q: want the same, non-empty", r.id, r.bodyID)
		}
		want := accessEntry{RemoteAddr: "127.0.0.1", Method: r.method, URI: r.uri,
			Protocol: "HTTP/1.1", Status: r.status, Bytes: r.bytes, Referer: r.referer,
			UserAgent: r.agent, RequestID: r.id, ProcessGroup: "default", ApplicationGroup: "%{GLOBAL}",
			PID: r.pid}
		got := e
		got.DurationUS, got.GILWaitUS, got.Time = 0, 0, ""
		if got != want {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, got, want)
		}
		if e.DurationUS <= 0 || e.GILWaitUS < 0 || e.GILWaitUS > e.DurationUS {
			t.Errorf("line %d: duration_us %d, gil_wait_us %d: want 0 ≤ GIL wait ≤ duration, "+
				"duration > 0", i+1, e.DurationUS, e.GILWaitUS)
		}
		if e.Time == "" {
			t.Errorf("line %d has no time", i+1)
		}
		if seen[e.RequestID] {
			t.Errorf("request id %s logged twice", e.RequestID)
		}
		seen[e.RequestID] = true
	}
}

func TestAccessLogCombined(t *testing.T) { testAccessLogFields(t, "combined") }

func TestAccessLogJSON(t *testing.T) { testAccessLogFields(t, "json") }

// A line a client could forge (a quote, a newline in a header) stays one line with its
// fields in place.
func TestAccessLogEscapesClientText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/logs.py", "--access-log", path)
	agent := "x\" 200 99 \"forged\t\xff"
	r := sendLogged(t, s, http.MethodGet, "/", "", agent)
	e := readAccessLog(t, path, 1, false)[0]
	if e.UserAgent != agent || e.RequestID != r.id {
		t.Fatalf("user agent %q, request id %q: want %q and %q", e.UserAgent, e.RequestID, agent, r.id)
	}
}

// jsonRecords parses every line of a log as a JSON object.
func jsonRecords(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON (%v): %q\nlog:\n%s", err, line, log)
		}
		out = append(out, rec)
	}
	return out
}

// --log-format json: every record of pyhost's own log is a JSON object, wsgi.errors lines
// included, the request id a field of its own.
func TestLogFormatJSON(t *testing.T) {
	s := startServer(t, "testdata/logs.py", "--log-format", "json")
	r := sendLogged(t, s, http.MethodGet, "/?say=json-record", "", "agent")
	waitForLog(t, s, "unfinished json-record")
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Log)
	}
	found := 0
	for _, rec := range jsonRecords(t, s.Log.String()) {
		if rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("record lacks time, level or msg: %v", rec)
		}
		if rec["msg"] == "wsgi.errors" {
			found++
			if rec["request_id"] != r.id {
				t.Errorf("wsgi.errors record %v: want request_id %q", rec, r.id)
			}
		}
	}
	if found != 2 {
		t.Errorf("%d wsgi.errors records, want 2 (a printed line, an unfinished one)\n%s", found, s.Log)
	}
}

// What an app writes to wsgi.errors (printed in pieces, and a line it never ends) and an
// exception Python reports as unraisable are records carrying the request's id. The error is
// Python's own words for it: "Exception ignored in: <obj>" up to 3.13, "Exception ignored while
// calling deallocator <obj>" for a __del__ from 3.14 on.
func TestWSGIErrorsCarryRequestID(t *testing.T) {
	s := startServer(t, "testdata/logs.py")
	r := sendLogged(t, s, http.MethodGet, "/?say=hello-errors&unraisable=1", "", "agent")
	id := regexp.QuoteMeta(r.id)
	for _, want := range []string{
		`level=WARN msg=wsgi.errors request_id=` + id + ` text="said: hello-errors"`,
		`level=WARN msg=wsgi.errors request_id=` + id + ` text="unfinished hello-errors"`,
		`level=ERROR msg="uncaught exception in the app" request_id=` + id +
			` error="Exception ignored (in:|while calling deallocator) .*_RaisesWhenCollected.*traceback=".*ValueError: raised in __del__ while serving`,
	} {
		waitForLogMatch(t, s, regexp.MustCompile(want))
	}
}

// X-Request-Id: kept with --trust-request-id when valid; replaced otherwise. The app, the
// response and the access log agree on the id either way.
func TestRequestIDTrust(t *testing.T) {
	long := strings.Repeat("r", 129)
	for _, tc := range []struct {
		name   string
		trust  bool
		header string
		kept   bool
	}{
		{"trusted", true, "req-42_ABC.def:ghi/jkl+mno=", true},
		{"trusted 128 chars", true, long[:128], true},
		{"untrusted", false, "req-42", false},
		{"trusted but has a space", true, "req 42", false},
		{"trusted but too long", true, long, false},
		{"trusted but not ASCII", true, "req-é", false},
		{"trusted but has a quote", true, `req"42`, true}, // visible ASCII: kept, escaped in the log
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			args := []string{"testdata/logs.py", "--access-log", path}
			if tc.trust {
				args = append(args, "--trust-request-id")
			}
			s := startServer(t, args...)
			resp, body := s.get(t, "/", "X-Request-Id", tc.header)
			var got struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			id := resp.Header.Get("X-Request-Id")
			if (id == tc.header) != tc.kept || id == "" {
				t.Fatalf("client sent %q, response X-Request-Id %q: kept %v, want kept %v",
					tc.header, id, id == tc.header, tc.kept)
			}
			if got.RequestID != id || len(resp.Header.Values("X-Request-Id")) != 1 {
				t.Fatalf("app saw %q, response says %q: want one and the same", got.RequestID,
					resp.Header.Values("X-Request-Id"))
			}
			if e := readAccessLog(t, path, 1, false)[0]; e.RequestID != id {
				t.Fatalf("access log request_id %q, want %q", e.RequestID, id)
			}
		})
	}
}

// rotate renames path aside, sends SIGUSR1 to pid and waits until n processes said they
// reopened their files; it returns the renamed file's path.
func rotate(t *testing.T, s *server, path string, n int) string {
	t.Helper()
	before := countLines(s.Log.String(), "reopened the log files")
	old := path + ".1"
	if err := os.Rename(path, old); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitForLines(t, s, "reopened the log files", before+n)
	return old
}

// countFileLines parses every line of the files and returns how many there are, failing on
// a line that is not whole (two processes' writes mixed, or cut).
func countFileLines(t *testing.T, paths ...string) (n int, pids map[int]int) {
	t.Helper()
	pids = map[int]int{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("%s does not end with a newline", p)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if line == "" {
				continue
			}
			e, err := parseAccessLine(line, false)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			pids[e.PID]++
			n++
		}
	}
	return n, pids
}

// SIGUSR1 after logrotate's rename: new lines go to a new file of the old name, and no line
// is lost between the two files.
func TestAccessLogReopenOnSIGUSR1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/logs.py", "--access-log", path)
	for i := 0; i < 5; i++ {
		sendLogged(t, s, http.MethodGet, "/before", "", "agent")
	}
	readAccessLog(t, path, 5, false)
	old := rotate(t, s, path, 1)
	for i := 0; i < 3; i++ {
		sendLogged(t, s, http.MethodGet, "/after", "", "agent")
	}
	after := readAccessLog(t, path, 3, false)
	for _, e := range after {
		if e.URI != "/after" {
			t.Errorf("the new file has %s, want only the requests sent after SIGUSR1", e.URI)
		}
	}
	if n, _ := countFileLines(t, old); n != 5 {
		t.Errorf("the renamed file has %d lines, want 5", n)
	}
}

// Two workers append to one access log under load, and the file is rotated meanwhile: every
// line is whole (one write each, O_APPEND), both workers wrote, and no request is missing.
func TestAccessLogTwoWorkersUnderLoadWithRotation(t *testing.T) {
	testAccessLogTwoWorkersUnderLoad(t)
}

// The same with --access-log-buffer: lines written several at a time stay whole and none is
// lost across the rotation.
func TestAccessLogBufferedTwoWorkersUnderLoadWithRotation(t *testing.T) {
	testAccessLogTwoWorkersUnderLoad(t, "--access-log-buffer", "8KiB")
}

func testAccessLogTwoWorkersUnderLoad(t *testing.T, extra ...string) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, append([]string{"testdata/logs.py", "--processes", "2", "--threads", "4",
		"--access-log", path}, extra...)...)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	const clients, perClient = 8, 250
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok      int
		failure error
	)
	halfway := make(chan struct{})
	var once sync.Once
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl := freshClient() // a new connection each: both workers get requests
			for i := 0; i < perClient; i++ {
				if c == 0 && i == perClient/2 {
					once.Do(func() { close(halfway) })
				}
				resp, err := cl.Get(fmt.Sprintf("%s/load/%d/%d", s.URL, c, i))
				if err == nil {
					_, err = readAll(resp)
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				mu.Lock()
				if err != nil && failure == nil {
					failure = err
				} else if err == nil {
					ok++
				}
				mu.Unlock()
			}
		}(c)
	}
	<-halfway
	old := rotate(t, s, path, 2) // both workers reopen (the supervisor has no file)
	wg.Wait()
	if failure != nil {
		t.Fatalf("a request failed: %v", failure)
	}
	total := clients * perClient
	if ok != total {
		t.Fatalf("%d requests answered, want %d", ok, total)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, pids := countFileLines(t, old, path)
		if n == total {
			if len(pids) != 2 {
				t.Errorf("lines from %d worker pids, want 2: %v", len(pids), pids)
			}
			break
		}
		if n > total || time.Now().After(deadline) {
			t.Fatalf("%d lines in the two files, want %d (one per request)", n, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, _ := countFileLines(t, path); n == 0 {
		t.Errorf("nothing written to the new file after SIGUSR1")
	}
}

// check-config knows the log keys: a wrong format is named with its line.
func TestCheckConfigLogKeys(t *testing.T) {
	dir := t.TempDir()
	app, _ := filepath.Abs(repoPath("testdata", "logs.py"))
	cfg := filepath.Join(dir, "logs.toml")
	text := groupTable("site", fmt.Sprintf("access-log = %q", filepath.Join(dir, "access.log")),
		`access-log-format = "apache"`, `log-format = "json"`, "trust-request-id = true") +
		mountTable("/", app, "")
	writeFile(t, cfg, text)
	r := runPyhost(t, apart, "check-config", cfg)
	if r.Code != 2 || !strings.Contains(r.Stderr, cfg+":3: group.site.access-log-format: \"apache\": want combined or json") {
		t.Fatalf("exit %d, stderr %q: want 2 and the bad format on line 3", r.Code, r.Stderr)
	}
	fixed := strings.Replace(text, `"apache"`, `"json"`, 1)
	fixed = strings.Replace(fixed, filepath.Join(dir, "access.log"), filepath.Join(dir, "missing", "access.log"), 1)
	writeFile(t, cfg, fixed)
	r = runPyhost(t, apart, "check-config", cfg)
	if r.Code != 2 || !strings.Contains(r.Stderr, "--access-log") || !strings.Contains(r.Stderr, "create the folder") {
		t.Fatalf("exit %d, stderr %q: want 2 and the access log's missing folder", r.Code, r.Stderr)
	}
}

// --error-log with --processes 2: the supervisor and both workers write pyhost's log to the
// file; after a rename and SIGUSR1 to the supervisor, all three write to a new file of the
// name (the supervisor passed the signal on), and the old one keeps what came before.
func TestErrorLogReopenUnderProcesses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pyhost.log")
	p := startProcess(t, "testdata/logs.py", "--processes", "2", "--listen", "127.0.0.1:0",
		"--error-log", path)
	defer func() { _ = p.stop() }()
	// waitInFile waits until the file has n lines containing substr, and returns its text.
	waitInFile := func(file, substr string, n int) string {
		t.Helper()
		var data []byte
		if !eventually(20*time.Second, func() bool {
			data, _ = os.ReadFile(file)
			return countLines(string(data), substr) >= n
		}) {
			t.Fatalf("%s never had %d lines with %q:\n%s\nstderr:\n%s", file, n, substr, data, p.Log)
		}
		return string(data)
	}
	text := waitInFile(path, `msg="all workers ready"`, 1)
	m := listenRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no listen address in the error log:\n%s", text)
	}
	url := "http://" + m[1]
	if _, err := client.Get(url + "/?say=before-rotation"); err != nil {
		t.Fatal(err)
	}
	waitInFile(path, "unfinished before-rotation", 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// The supervisor and both workers say so, each in the new file.
	waitInFile(path, "reopened the log files", 3)
	if _, err := client.Get(url + "/?say=after-rotation"); err != nil {
		t.Fatal(err)
	}
	newText := waitInFile(path, "unfinished after-rotation", 1)
	if strings.Contains(newText, "before-rotation") {
		t.Errorf("the new file has lines from before the rotation:\n%s", newText)
	}
	oldData, _ := os.ReadFile(path + ".1")
	if !strings.Contains(string(oldData), "before-rotation") || strings.Contains(string(oldData), "after-rotation") {
		t.Errorf("the renamed file should hold what came before SIGUSR1, only:\n%s", oldData)
	}
	if p.Log.String() != "" {
		t.Errorf("with --error-log nothing should reach stderr, got:\n%s", p.Log)
	}
}

// A thread of the app that dies of an exception is one ERROR record with its traceback (the
// thread serves no request: no id), not raw text on stderr.
func TestThreadExceptionIsOneRecord(t *testing.T) {
	s := startServer(t, "testdata/logs.py", "--log-format", "json")
	s.get(t, "/?thread_raises=1")
	waitForLog(t, s, "raised in a thread of the app")
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Log)
	}
	found := false
	for _, rec := range jsonRecords(t, s.Log.String()) {
		tb, _ := rec["traceback"].(string)
		if strings.Contains(tb, `KeyError: 'raised in a thread of the app'`) {
			found = rec["level"] == "ERROR" && rec["error"] == "uncaught exception in thread 'raiser' of the app"
			if !found {
				t.Errorf("record %v: want level ERROR and the thread named", rec)
			}
		}
	}
	if !found {
		t.Errorf("no record carries the thread's traceback:\n%s", s.Log)
	}
}

// A request that raises: its 500 carries the X-Request-Id, and the log record with the
// traceback carries the same id.
func TestUncaughtTracebackCarriesRequestID(t *testing.T) {
	s := startServer(t, "testdata/logs.py")
	resp, _ := s.get(t, "/?raise=traceback-id")
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusInternalServerError || id == "" {
		t.Fatalf("status %d, X-Request-Id %q: want 500 with an id", resp.StatusCode, id)
	}
	waitForLogMatch(t, s, regexp.MustCompile(`level=ERROR msg="WSGI application failed" `+
		`request_id=`+regexp.QuoteMeta(id)+` .*traceback=".*RuntimeError: the app raised: traceback-id`))
}

// An app that answers with its own X-Request-Id replaces pyhost's, rather than sending two.
func TestAppOwnRequestIDReplacesPyhosts(t *testing.T) {
	s := startServer(t, "testdata/logs.py")
	resp, _ := s.get(t, "/?own_id=upstream-7")
	if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "upstream-7" {
		t.Errorf("X-Request-Id %q, want only the app's \"upstream-7\"", got)
	}
	resp, _ = s.get(t, "/")
	if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || got[0] == "" {
		t.Errorf("X-Request-Id %q without one from the app, want pyhost's", got)
	}
}

// --access-log-buffer: buffered lines reach the file within about a second, and whatever is
// still buffered when the server stops is written before it exits.
func TestAccessLogBufferFlushedWithinASecondAndAtStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/logs.py", "--access-log", path, "--access-log-buffer", "64KiB")
	for i := 0; i < 5; i++ {
		sendLogged(t, s, http.MethodGet, "/first", "", "agent")
	}
	readAccessLog(t, path, 5, false) // waits up to 10 s: the flush comes within a second
	for i := 0; i < 3; i++ {
		sendLogged(t, s, http.MethodGet, "/last", "", "agent")
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Log)
	}
	entries := readAccessLog(t, path, 8, false)
	if e := entries[7]; e.URI != "/last" {
		t.Errorf("the last line is for %q, want one of the /last requests", e.URI)
	}
}
