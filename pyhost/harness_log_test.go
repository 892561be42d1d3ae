package pyhost_test

// Logs: a server's own log as the harness collects it, waiting for what it says, and the
// access log's lines read back field by field.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects a process's stdout and stderr for assertions on its log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// hasLog is what has a log to wait on: a *server, or a *process from startProcess.
type hasLog interface{ log() *logBuffer }

// eventually checks cond every 20 ms until it holds, for within at most, and reports whether
// it came to hold.
func eventually(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// waitForLog waits (10 s at most) for text to appear in the log: a traceback may be written
// after the response went out.
func waitForLog(t *testing.T, p hasLog, want string) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return strings.Contains(p.log().String(), want) }) {
		t.Fatalf("log never said %q:\n%s", want, p.log())
	}
}

// waitForLogMatch is waitForLog for a line matching the regular expression re.
func waitForLogMatch(t *testing.T, p hasLog, re *regexp.Regexp) {
	t.Helper()
	if !eventually(10*time.Second, func() bool { return re.MatchString(p.log().String()) }) {
		t.Fatalf("log has no line matching %s:\n%s", re, p.log())
	}
}

// waitForLines waits (15 s at most) until n lines of the log contain substr.
func waitForLines(t *testing.T, p hasLog, substr string, n int) {
	t.Helper()
	if !eventually(15*time.Second, func() bool { return countLines(p.log().String(), substr) >= n }) {
		t.Fatalf("log never had %d lines with %q:\n%s", n, substr, p.log())
	}
}

// countLines is how many lines of log contain substr.
func countLines(log, substr string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// lineWith returns the first log line containing substr ("" if none).
func lineWith(log, substr string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// accessEntry is one access-log line's fields (both forms).
type accessEntry struct {
	RemoteAddr       string `json:"remote_addr"`
	Method           string `json:"method"`
	URI              string `json:"uri"`
	Protocol         string `json:"protocol"`
	Status           int    `json:"status"`
	Bytes            int64  `json:"bytes"`
	Referer          string `json:"referer"`
	UserAgent        string `json:"user_agent"`
	RequestID        string `json:"request_id"`
	DurationUS       int64  `json:"duration_us"`
	ProcessGroup     string `json:"process_group"`
	ApplicationGroup string `json:"application_group"`
	PID              int    `json:"pid"`
	GILWaitUS        int64  `json:"gil_wait_us"`
	Time             string `json:"time"`
}

// combinedRE is a whole combined line with pyhost's fields; quoted values are escaped.
var combinedRE = regexp.MustCompile(`^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] ` +
	`"(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" ` +
	`request_id="((?:[^"\\]|\\.)*)" duration_us=(\d+) process_group="((?:[^"\\]|\\.)*)" ` +
	`application_group="((?:[^"\\]|\\.)*)" pid=(\d+) gil_wait_us=(\d+)$`)

// unescape undoes the access log's \" \\ and \xHH.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if s[i+1] == 'x' && i+3 < len(s) {
				n, _ := strconv.ParseUint(s[i+2:i+4], 16, 8)
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i+1])
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseAccessLine parses a line of either form; "-" values come back as "".
func parseAccessLine(line string, jsonForm bool) (accessEntry, error) {
	var e accessEntry
	if jsonForm {
		err := json.Unmarshal([]byte(line), &e)
		return e, err
	}
	m := combinedRE.FindStringSubmatch(line)
	if m == nil {
		return e, fmt.Errorf("not a combined line with pyhost's fields: %q", line)
	}
	dash := func(s string) string {
		if s == "-" {
			return ""
		}
		return unescape(s)
	}
	e.RemoteAddr, e.Time = m[1], m[2]
	e.Method, e.URI, e.Protocol = unescape(m[3]), unescape(m[4]), unescape(m[5])
	e.Status, _ = strconv.Atoi(m[6])
	if m[7] != "-" {
		e.Bytes, _ = strconv.ParseInt(m[7], 10, 64)
	}
	e.Referer, e.UserAgent, e.RequestID = dash(m[8]), dash(m[9]), dash(m[10])
	e.DurationUS, _ = strconv.ParseInt(m[11], 10, 64)
	e.ProcessGroup, e.ApplicationGroup = dash(m[12]), dash(m[13])
	e.PID, _ = strconv.Atoi(m[14])
	e.GILWaitUS, _ = strconv.ParseInt(m[15], 10, 64)
	return e, nil
}

// readAccessLog waits (10 s at most) until path has n lines (a line is written once its
// response has gone out, so it may trail the answer a little) and parses them all.
func readAccessLog(t *testing.T, path string, n int, jsonForm bool) []accessEntry {
	t.Helper()
	var lines []string
	eventually(10*time.Second, func() bool {
		data, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(data) == 0 {
			lines = nil
		}
		return len(lines) >= n
	})
	if len(lines) != n {
		t.Fatalf("%s has %d lines, want %d:\n%s", path, len(lines), n, strings.Join(lines, "\n"))
	}
	var out []accessEntry
	for _, l := range lines {
		e, err := parseAccessLine(l, jsonForm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
