package pyhost_test

// The integration harness: every test here runs the real pyhost binary, built once from this
// tree against the Python that `go test` was configured for, and talks HTTP to it over
// loopback.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	pyhostBin string
	linked    linkedPython
)

// linkedPython is the CPython the binary under test embeds.
type linkedPython struct {
	Version      string // "3.13.5"
	Minor        int    // 13
	FreeThreaded bool
	// System: Debian's own python3 (3.11), whose dist-packages hold the frameworks the tests
	// use. scripts/test.sh sets PYHOST_TEST_PYTHON to the interpreter of every other run.
	System bool
}

func parseLinked(version string) linkedPython {
	var lp linkedPython
	if m := regexp.MustCompile(`Python (3\.(\d+)\.\d+)`).FindStringSubmatch(version); m != nil {
		lp.Version = m[1]
		fmt.Sscan(m[2], &lp.Minor)
	}
	lp.FreeThreaded = strings.Contains(version, "free-threaded")
	lp.System = os.Getenv("PYHOST_TEST_PYTHON") == "" && lp.Minor == 11
	return lp
}

// needSystemPython skips tests that use Debian's python3-* packages on other builds, saying so.
func needSystemPython(t *testing.T, what string) {
	t.Helper()
	if !linked.System {
		t.Skipf("%s uses Debian's packages, built for the system Python 3.11; this run embeds "+
			"Python %s (covered by the system-Python run of make test)", what, linked.Version)
	}
}

// debianDistPackages holds Debian's pure-Python packages; a 3.13 build can import the pure
// ones (Flask and its dependencies) through --python-path.
const debianDistPackages = "/usr/lib/python3/dist-packages"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pyhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pyhostBin = filepath.Join(dir, "pyhost")
	if bin := os.Getenv("PYHOST_TEST_BINARY"); bin != "" {
		// A binary built elsewhere, e.g. from an older revision, to show that a regression
		// test fails there (tests of flags that revision lacks fail for that reason too).
		pyhostBin = bin
		fmt.Fprintln(os.Stderr, "testing the binary", bin, "(PYHOST_TEST_BINARY), not this tree")
	} else {
		build := exec.Command("go", "build", "-o", pyhostBin, "github.com/pyhost/pyhost")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building pyhost:", err)
			os.Exit(1)
		}
	}
	out, err := exec.Command(pyhostBin, "version").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pyhost version:", err)
		os.Exit(1)
	}
	linked = parseLinked(string(out))
	fmt.Fprintf(os.Stderr, "testing against Python %s (free-threaded: %v, system: %v)\n",
		linked.Version, linked.FreeThreaded, linked.System)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoPath is a path under the repository root (tests run in pyhost/).
func repoPath(elem ...string) string {
	abs, _ := filepath.Abs(filepath.Join(append([]string{".."}, elem...)...))
	return abs
}

// logBuffer collects the server's stderr for assertions on its log.
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

// server is a running pyhost process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string   // http://127.0.0.1:PORT, the first listener
	URLs []string // every listener, in the order given
	Log  *logBuffer
	done chan error

	stopMu  sync.Mutex
	stopped bool // stop has run; exitErr is its result
	exitErr error
}

// wasStopped reports whether the server was already stopped (by the test itself).
func (s *server) wasStopped() bool {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	return s.stopped
}

// listenRE finds the address in the "serving" record, text or JSON (--log-format json).
var listenRE = regexp.MustCompile(`listen"?[=:]"?http://(127\.0\.0\.1:\d+)`)

// startServer runs `pyhost serve ARGS... --listen 127.0.0.1:0` and waits until it listens.
// The process is stopped (SIGTERM, then killed) when the test ends.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s, err := tryStartServer(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryStartServer(t testing.TB, args ...string) (*server, error) {
	full := append([]string{"serve"}, args...)
	full = append(full, "--listen", "127.0.0.1:0")
	full = append(full, asRoot()...)
	cmd := exec.Command(pyhostBin, full...)
	cmd.Dir = repoPath()
	logs := &logBuffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logs, pw)
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{t: t, cmd: cmd, Log: logs, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); pw.Close() }()
	listeners := 0
	for _, a := range full {
		if a == "--listen" {
			listeners++
		}
	}
	found := make(chan []string, 1)
	go func() {
		var addrs []string
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addrs = append(addrs, "http://"+m[1])
				if len(addrs) == listeners {
					found <- addrs
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case addrs := <-found:
		s.URL, s.URLs = addrs[0], addrs
	case err := <-s.done:
		return nil, fmt.Errorf("pyhost exited before listening (%v); log:\n%s", err, logs)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("pyhost did not listen within 60s; log:\n%s", logs)
	}
	// Every server must also end well: exit 0 after finalising its interpreters (a crash or
	// hang in teardown fails the test that started it). Tests that expect otherwise stop it
	// themselves first.
	t.Cleanup(func() {
		if s.wasStopped() {
			return
		}
		if err := s.stop(); err != nil {
			t.Errorf("pyhost did not exit cleanly after SIGTERM: %v\n%s", err, s.Log)
		} else if !strings.Contains(s.Log.String(), "stopped cleanly") {
			t.Errorf("pyhost exited 0 without finishing its shutdown:\n%s", s.Log)
		}
	})
	return s, nil
}

// stop sends SIGTERM and waits for the process to end; it returns the exit error (nil: exit
// 0). Later calls return the same result.
func (s *server) stop() error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return s.exitErr
	}
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case s.exitErr = <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("pyhost did not exit within 60s of SIGTERM; log:\n%s", s.Log)
		s.exitErr = <-s.done
	}
	return s.exitErr
}

// asRoot is the flag that lets a test run apps as root, when the tests run as root (pyhost
// refuses that otherwise; privileges_test.go tests the refusal itself).
func asRoot() []string {
	if os.Geteuid() == 0 {
		return []string{"--allow-root"}
	}
	return nil
}

var client = &http.Client{Timeout: 60 * time.Second}

// get fetches path and returns status, headers and body.
func (s *server) do(t testing.TB, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\nserver log:\n%s", method, path, err, s.Log)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, b
}

func (s *server) get(t testing.TB, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return s.do(t, http.MethodGet, path, nil, hdr...)
}

// waitForLog waits (10 s at most) for text to appear in the server log: a traceback may be
// written after the response went out.
func waitForLog(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", want, s.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForLogMatch is waitForLog for a line matching the regular expression re.
func waitForLogMatch(t *testing.T, s *server, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(s.Log.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no line matching %s:\n%s", re, s.Log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
