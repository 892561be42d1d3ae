package pyhost_test

// The harness of the black-box tests: every test in this package runs the real pyhost binary,
// built once from this tree against the Python that `go test` was configured for, and talks to
// it over loopback. This file builds the binary, says which Python it embeds, runs its commands
// to their end and starts and stops its servers. Beside it: harness_log_test.go (waiting on a
// server's log, reading access logs), harness_http_test.go (clients, requests, raw
// connections), harness_metrics_test.go (what the metrics listener serves),
// harness_config_test.go (config files and other files written for a test) and
// harness_processes_test.go (worker processes: their answers, load, /proc).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
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
	// System: a Debian-packaged interpreter, whose /usr/lib/python3/dist-packages hold the
	// frameworks the tests use, built for it: the system's python3 (3.11), or /usr/bin/python3.14
	// and 3.15 in the forky root (scripts/in-forky.sh). scripts/test.sh sets PYHOST_TEST_PYTHON
	// to the interpreter of every run but the system one's.
	System bool
}

func parseLinked(version string) linkedPython {
	var lp linkedPython
	if m := regexp.MustCompile(`Python (3\.(\d+)\.\d+)`).FindStringSubmatch(version); m != nil {
		lp.Version = m[1]
		fmt.Sscan(m[2], &lp.Minor)
	}
	lp.FreeThreaded = strings.Contains(version, "free-threaded")
	py := os.Getenv("PYHOST_TEST_PYTHON")
	lp.System = (py == "" && lp.Minor == 11) || strings.HasPrefix(py, "/usr/bin/python3")
	return lp
}

// needSystemPython skips tests that use Debian's python3-* packages on builds of our own,
// saying so.
func needSystemPython(t *testing.T, what string) {
	t.Helper()
	if !linked.System {
		t.Skipf("%s uses Debian's packages, built for Debian's own interpreters; this run embeds "+
			"Python %s built from source (covered by the 3.11, 3.14 and 3.15 runs of make test)",
			what, linked.Version)
	}
}

// debianDistPackages holds Debian's pure-Python packages; a 3.13 build can import the pure
// ones (Flask and its dependencies) through --python-path.
const debianDistPackages = "/usr/lib/python3/dist-packages"

// gilModes are the GIL modes the linked Python runs: shared, and own (≥ 3.12 with a GIL) or
// free (a free-threaded build).
func gilModes() []string {
	switch {
	case linked.FreeThreaded:
		return []string{"shared", "free"}
	case linked.Minor >= 12:
		return []string{"shared", "own"}
	}
	return []string{"shared"}
}

// ownOrFree is the GIL mode the linked Python runs besides shared, the one that lets
// interpreters run Python at the same time: free on a free-threaded build, own on 3.12 and
// later. On 3.11, which has neither, it skips the test, saying what needs it.
func ownOrFree(t *testing.T, what string) string {
	t.Helper()
	modes := gilModes()
	if len(modes) < 2 {
		t.Skipf("%s needs --gil own (Python ≥ 3.12) or a free-threaded build; this run embeds "+
			"Python %s", what, linked.Version)
	}
	return modes[1]
}

// freeThreadedArgs turns the GIL off on a free-threaded build (pyhost's default, --gil shared,
// keeps it on there), so that the app's threads really run at the same time as the request's.
func freeThreadedArgs(args ...string) []string {
	if linked.FreeThreaded {
		return append(args, "--gil", "free")
	}
	return args
}

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

// asRoot is the flag that lets a test run apps as root, when the tests run as root (pyhost
// refuses that otherwise; TestRefusesRootWithoutAllowRoot tests the refusal itself).
func asRoot() []string {
	if os.Geteuid() == 0 {
		return []string{"--allow-root"}
	}
	return nil
}

// output says how runPyhost collects what a command writes.
type output int

const (
	together output = iota // stdout and stderr on one pipe, interleaved as written: ran.Out
	apart                  // stdout and stderr each on its own: ran.Stdout, ran.Stderr
)

// ran is a pyhost command that ran to its end.
type ran struct {
	Out            string // together: all it wrote
	Stdout, Stderr string // apart
	Code           int    // its exit status (-1: a signal ended it)
}

// runPyhost runs `pyhost ARGS` in the repository root to its end. One that cannot be started,
// or still runs 60 s later (it is killed then), fails the test. ARGS go as they are: a serve
// that must run apps when the tests run as root takes asRoot() from its caller.
func runPyhost(t *testing.T, o output, args ...string) ran {
	t.Helper()
	cmd := exec.Command(pyhostBin, args...)
	cmd.Dir = repoPath()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if o == together {
		cmd.Stderr = &out // the same writer: exec gives the command one pipe for both
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	timer := time.AfterFunc(60*time.Second, func() { killed.Store(true); _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if killed.Load() {
		t.Fatalf("pyhost %q did not finish within 60 s (killed it):\n%s%s", args, &out, &errOut)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("pyhost %q: %v", args, err)
	}
	r := ran{Code: cmd.ProcessState.ExitCode()}
	if o == together {
		r.Out = out.String()
	} else {
		r.Stdout, r.Stderr = out.String(), errOut.String()
	}
	return r
}

// exitCode is the exit status in a process's exit error (0 for nil, -1 when it is not an
// exit status).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// process is a running `pyhost serve` and its log.
type process struct {
	t   testing.TB
	cmd *exec.Cmd
	Log *logBuffer // stdout and stderr, as written
	// stopWithin is how long stop waits after SIGTERM before it kills the process and fails
	// the test.
	stopWithin time.Duration

	exited  chan struct{} // closed once the process has exited; waitErr says how
	waitErr error

	endMu   sync.Mutex
	ended   bool // the test has ended it (or the harness killed it); exitErr says how it exited
	exitErr error
}

// launch starts `pyhost serve ARGS` (with --allow-root when the tests run as root) in the
// repository root. A process the test leaves running is killed when the test ends.
func launch(t testing.TB, args []string) *process {
	t.Helper()
	cmd := exec.Command(pyhostBin, append(append([]string{"serve"}, args...), asRoot()...)...)
	cmd.Dir = repoPath()
	p := &process{t: t, cmd: cmd, Log: &logBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	// A child the app forked that outlives the server (a hung multiprocessing worker) keeps
	// the log pipe open: without a bound, Wait, and with it the test and the whole run, would
	// wait for that child forever.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	return p
}

// startProcess starts `pyhost serve ARGS` without waiting for it to serve: for supervisors
// whose workers never get ready, and for servers that log to a file. Its stop fails the test
// when the process still runs 20 s after SIGTERM.
func startProcess(t testing.TB, args ...string) *process {
	t.Helper()
	p := launch(t, args)
	p.stopWithin = 20 * time.Second
	return p
}

func (p *process) log() *logBuffer { return p.Log }

// endWith sends sig (nothing when nil) and waits for the process to exit, for within at most:
// one still running then is killed, and fails the test. It returns how the process exited
// (nil: status 0); once the process has ended, it returns that again.
func (p *process) endWith(sig os.Signal, within time.Duration) error {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	if p.ended {
		return p.exitErr
	}
	p.ended = true
	after := "later"
	if sig != nil {
		// The shared client's idle connections would hold each stop for the drain's window
		// (1 s: a kept-alive connection gets that long to send one more request).
		client.CloseIdleConnections()
		_ = p.cmd.Process.Signal(sig)
		after = fmt.Sprintf("after signal %q", sig)
	}
	select {
	case <-p.exited:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("pyhost was still running %s %s (killed it); log:\n%s", within, after, p.Log)
	}
	p.exitErr = p.waitErr
	return p.exitErr
}

// stop sends SIGTERM and waits for the process to end (stopWithin at most); it returns how the
// process exited (nil: status 0). Later calls return the same.
func (p *process) stop() error { return p.endWith(syscall.SIGTERM, p.stopWithin) }

// stopWith sends sig and waits (60 s at most) for the process to exit; it returns how.
func (p *process) stopWith(sig syscall.Signal) error { return p.endWith(sig, 60*time.Second) }

// waitExit waits (60 s at most) for a process that should end by itself, and returns how.
func (p *process) waitExit() error { return p.endWith(nil, 60*time.Second) }

// hasEnded reports whether the test has already ended the process.
func (p *process) hasEnded() bool {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	return p.ended
}

// kill ends a process the test left running, without a word: the test has failed already, or
// did not care how it ends.
func (p *process) kill() {
	p.endMu.Lock()
	defer p.endMu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.exitErr = p.waitErr
}

// server is a pyhost process that serves.
type server struct {
	*process
	URL  string   // http://127.0.0.1:PORT, the first listener
	Addr string   // 127.0.0.1:PORT, the first listener
	URLs []string // every listener, in the order given
}

// listenRE finds the address in the "serving" record, text or JSON (--log-format json).
var listenRE = regexp.MustCompile(`listen"?[=:]"?http://(127\.0\.0\.1:\d+)`)

// listenAddrs are the addresses of the whole lines of log that say where it serves.
func listenAddrs(log string) []string {
	lines := strings.Split(log, "\n")
	var addrs []string
	for _, line := range lines[:len(lines)-1] { // the last one is not whole yet
		if m := listenRE.FindStringSubmatch(line); m != nil {
			addrs = append(addrs, m[1])
		}
	}
	return addrs
}

// startServer runs `pyhost serve ARGS... --listen 127.0.0.1:0` and waits (60 s at most) until
// it listens on each --listen. The process is stopped (SIGTERM, then killed 60 s later) when
// the test ends, and must then exit 0 after finishing its shutdown.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	full := append(append([]string(nil), args...), "--listen", "127.0.0.1:0")
	s := &server{process: launch(t, full)}
	s.stopWithin = 60 * time.Second
	listeners := 0
	for _, a := range full {
		if a == "--listen" {
			listeners++
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if addrs := listenAddrs(s.Log.String()); len(addrs) >= listeners {
			for _, a := range addrs[:listeners] {
				s.URLs = append(s.URLs, "http://"+a)
			}
			s.Addr, s.URL = addrs[0], s.URLs[0]
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("pyhost exited before listening (%v); log:\n%s", s.waitErr, s.Log)
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("pyhost did not listen within 60s; log:\n%s", s.Log)
		}
	}
	// Every server must also end well: exit 0 after finalising its interpreters (a crash or
	// hang in teardown fails the test that started it). Tests that expect otherwise stop it
	// themselves first.
	t.Cleanup(func() {
		if s.hasEnded() {
			return
		}
		if err := s.stop(); err != nil {
			t.Errorf("pyhost did not exit cleanly after SIGTERM: %v\n%s", err, s.Log)
		} else if !strings.Contains(s.Log.String(), "stopped cleanly") {
			t.Errorf("pyhost exited 0 without finishing its shutdown:\n%s", s.Log)
		}
	})
	return s
}
