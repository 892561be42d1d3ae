package pyhost_test

// What an operator sees when something is wrong (issue 17, items 3, 8 and 10): a refused
// flag, a mistyped application group, a --python-home that is no Python, sizes as written,
// and the pid file.

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A bad flag value prints the error once and one hint, not the whole usage between two
// copies of the error.
func TestOperatorBadFlagPrintsErrorAndHint(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "testdata/hello.py", "--threads", "lots"},
		{"serve", "testdata/hello.py", "--nope"},
		{"check", "testdata/hello.py", "--nope"},
	} {
		r := runPyhost(t, apart, args...)
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		if r.Code != 2 || len(lines) != 2 || !strings.Contains(lines[1], `run "pyhost help"`) ||
			strings.Contains(r.Stderr, "-shutdown-timeout") {
			t.Errorf("pyhost %q: exit %d, want 2 and two lines (the error, a hint):\n%s", args, r.Code, r.Stderr)
		}
		if want := []string{`invalid value "lots" for flag -threads`, "flag provided but not defined: -nope"}; !strings.Contains(lines[0], want[0]) && !strings.Contains(lines[0], want[1]) {
			t.Errorf("pyhost %q: the error is not the first line:\n%s", args, r.Stderr)
		}
	}
}

// A mistyped %{...} application group is refused, naming the valid ones, on the command
// line, in --mount and in a config file (with its line), instead of silently naming a
// sub-interpreter.
func TestOperatorUnknownApplicationGroupRefused(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "testdata/hello.py", "--application-group", "%{GLOBALS}"},
		{"serve", "testdata/hello.py", "--mount", "/x=testdata/hello.py,group=%{GLOBALS}"},
	} {
		r := runPyhost(t, apart, append(args, asRoot()...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "unknown application group %{GLOBALS}: did you mean %{GLOBAL}?") ||
			!strings.Contains(r.Stderr, "%{SERVER}") || !strings.Contains(r.Stderr, "%{RESOURCE}") {
			t.Errorf("pyhost %q: exit %d:\n%s", args, r.Code, r.Stderr)
		}
	}
	path := groupsConfig(t, "[group.web]\napplication-group = \"%{SERVERS}\"\n\n"+
		"[[mount]]\nprefix = \"/\"\napp = \"app.py\"\nprocess-group = \"web\"\napplication-group = \"%{global}\"\n")
	r := runPyhost(t, apart, "check-config", path)
	for _, want := range []string{path + ":2: group.web.application-group: --application-group %{SERVERS}: unknown application group %{SERVERS}: did you mean %{SERVER}?",
		path + ":8: mount[0].application-group: unknown application group %{global}: did you mean %{GLOBAL}?"} {
		if r.Code != 2 || !strings.Contains(r.Stderr, want) {
			t.Errorf("check-config: exit %d, want %q:\n%s", r.Code, want, r.Stderr)
		}
	}
}

// --python-home is checked before Python starts: a missing folder, or one that is no Python,
// is named with what to give instead, not CPython's path dump and codec error.
func TestOperatorPythonHomeChecked(t *testing.T) {
	notPython := t.TempDir()
	for home, want := range map[string]string{
		"/nonexistent/venv": "--python-home /nonexistent/venv: no such folder; give the folder of a virtualenv",
		notPython:           "--python-home " + notPython + " does not look like a Python prefix or a virtualenv",
	} {
		r := runPyhost(t, apart, append([]string{"serve", "testdata/hello.py", "--python-home", home}, asRoot()...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, want) || strings.Contains(r.Stderr, "encodings") ||
			strings.Contains(r.Stderr, "Fatal Python error") {
			t.Errorf("--python-home %s: exit %d, want 2 and %q:\n%s", home, r.Code, want, r.Stderr)
		}
	}
}

// Sizes are read as written: 1.5kB is 1500 bytes (refused before), so a 1500-byte body
// passes and a 1501-byte one gets 413.
func TestOperatorSizesAsWritten(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--max-body-size", "1.5kB")
	if resp, out := s.do(t, "POST", "/echo", bytes.NewReader(make([]byte, 1500))); resp.StatusCode != 200 || string(out) != "read 1500" {
		t.Errorf("1500 bytes under --max-body-size 1.5kB: %d %q", resp.StatusCode, out)
	}
	if resp, _ := s.do(t, "POST", "/echo", bytes.NewReader(make([]byte, 1501))); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1501 bytes under --max-body-size 1.5kB: %d, want 413", resp.StatusCode)
	}
}

// import-apache on a site without Listen carries its <VirtualHost>'s port over, and says so.
func TestOperatorImportApacheVirtualHostPort(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.wsgi"), "application = None\n")
	conf := filepath.Join(dir, "site.conf")
	writeFile(t, conf, "<VirtualHost *:80>\n  WSGIScriptAlias / "+dir+"/app.wsgi\n</VirtualHost>\n")
	r := runPyhost(t, apart, "import-apache", conf)
	if r.Code != 0 || !strings.Contains(r.Stdout, "listen = [\":80\"]") ||
		!strings.Contains(r.Stderr, conf+":1: no Listen directive: listening on :80") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// pidIn reads a pid file (0 when there is none).
func pidIn(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	pid, convErr := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || convErr != nil || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("pid file %s: %q, %v", path, data, err)
	}
	return pid
}

// --pid-file holds the pid of the one process, or of the supervisor (not a worker's), while
// it serves, and is gone after SIGTERM.
func TestOperatorPIDFile(t *testing.T) {
	for _, mode := range [][]string{nil, {"--processes", "2"}} {
		t.Run("processes="+strconv.Itoa(len(mode)), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pyhost.pid")
			s := startServer(t, append([]string{"testdata/hello.py", "--pid-file", path}, mode...)...)
			if resp, _ := s.get(t, "/"); resp.StatusCode != 200 { // workers are up by now
				t.Fatalf("status %d", resp.StatusCode)
			}
			if pid := pidIn(t, path); pid != s.cmd.Process.Pid {
				t.Errorf("pid file holds %d, want pyhost's own %d", pid, s.cmd.Process.Pid)
			}
			if err := s.stop(); err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, s.Log)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("pid file left after SIGTERM: %v", err)
			}
		})
	}
}

// A pid file naming a running process refuses the start (and is kept); one naming a dead
// process is replaced.
func TestOperatorPIDFileLiveRefusedStaleReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pyhost.pid")
	writeFile(t, path, strconv.Itoa(os.Getpid())+"\n") // this test: alive
	r := runPyhost(t, together, append([]string{"serve", "testdata/hello.py", "--listen", "127.0.0.1:0",
		"--pid-file", path}, asRoot()...)...)
	if r.Code != 1 || !strings.Contains(r.Out, "names pid "+strconv.Itoa(os.Getpid())+", which is running") {
		t.Errorf("a live pid file: exit %d:\n%s", r.Code, r.Out)
	}
	if pid := pidIn(t, path); pid != os.Getpid() {
		t.Errorf("the refused start changed the pid file to %d", pid)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strconv.Itoa(dead.Process.Pid)+"\n")
	s := startServer(t, "testdata/hello.py", "--pid-file", path)
	if pid := pidIn(t, path); pid != s.cmd.Process.Pid {
		t.Errorf("a stale pid file (pid %d) holds %d, want %d", dead.Process.Pid, pid, s.cmd.Process.Pid)
	}
	waitForLog(t, s, "replacing a stale pid file")
}

// A supervisor that gives up (its worker never gets ready) removes its pid file as it exits.
func TestOperatorPIDFileRemovedOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pyhost.pid")
	t.Setenv("PYHOST_TEST_GATE", filepath.Join(t.TempDir(), "never")) // the import waits
	p := startProcess(t, "testdata/gated_import.py", "--listen", "127.0.0.1:0", "--processes", "1",
		"--startup-timeout", "3s", "--boot-attempts", "1", "--pid-file", path)
	if !eventually(30*time.Second, func() bool { return pidIn(t, path) == p.cmd.Process.Pid }) {
		t.Fatalf("no pid file while starting:\n%s", p.Log)
	}
	if err := p.waitExit(); exitCode(err) != 3 {
		t.Fatalf("exit %v, want 3:\n%s", err, p.Log)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file left after the supervisor gave up: %v", err)
	}
}
