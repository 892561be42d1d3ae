package pyhost_test

// The serve command as a user runs it: ways to name the app, import failures, concurrency,
// graceful shutdown, wsgiref's validator.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidator(t *testing.T) {
	s := startServer(t, "testdata/validated.py")
	body := randomBytes(t, 200000)
	checks := []struct {
		method, path string
		body         io.Reader
		want         int
	}{
		{"GET", "/environ", nil, 200},
		{"HEAD", "/head", nil, 200},
		{"POST", "/echo?mode=readn&n=1000", bytes.NewReader(body), 200},
		{"POST", "/echo?mode=readline&limit=100", chunkedReader{bytes.NewReader(body)}, 200},
		{"GET", "/stream?n=20", nil, 200},
		{"GET", "/write", nil, 200},
		{"GET", "/filewrapper?bytesio=1", nil, 200},
		{"GET", "/close", nil, 200},
	}
	for _, c := range checks {
		resp, out := s.do(t, c.method, c.path, c.body)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, resp.StatusCode, c.want, out)
		}
	}
	if strings.Contains(s.Log.String(), "AssertionError") || strings.Contains(s.Log.String(), "WSGIWarning") {
		t.Errorf("wsgiref.validate complained:\n%s", s.Log)
	}
}

func TestFileWrapperValidated(t *testing.T) {
	s := startServer(t, "testdata/validated.py")
	path := filepath.Join(t.TempDir(), "f.bin")
	content := randomBytes(t, 100000)
	writeFile(t, path, content)
	resp, body := s.get(t, "/filewrapper?path="+path)
	if resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Errorf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	if strings.Contains(s.Log.String(), "AssertionError") {
		t.Errorf("wsgiref.validate complained:\n%s", s.Log)
	}
}

func TestAppTargets(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"module:callable", []string{"mypkg.web:app", "--chdir", "testdata/pkgapp"}, "module cwd="},
		{"module:factory()", []string{"mypkg.web:create()", "--python-path", "testdata/pkgapp"}, "factory"},
		{"--callable and --python-path", []string{"testdata/named_callable.py", "--callable", "handler",
			"--python-path", "testdata/extra"}, "hello from --python-path"},
		{"flags before the app", []string{"--threads", "2", "testdata/hello.py"}, "Hello, World!"},
		{"a mod_wsgi .wsgi script", []string{"testdata/hello.wsgi"}, "hello from a .wsgi script"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, c.args...)
			resp, body := s.get(t, "/")
			if resp.StatusCode != 200 || !strings.Contains(string(body), c.want) {
				t.Errorf("status %d body %q, want %q", resp.StatusCode, body, c.want)
			}
		})
	}
	t.Run("--chdir changes the working directory", func(t *testing.T) {
		s := startServer(t, "mypkg.web:app", "--chdir", "testdata/pkgapp")
		_, body := s.get(t, "/")
		if !strings.HasSuffix(string(body), filepath.Join("testdata", "pkgapp")) {
			t.Errorf("cwd: %q", body)
		}
	})
}

func TestLoadFailures(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"import error", []string{"serve", "testdata/broken_import.py", "--listen", "127.0.0.1:0"},
			[]string{"Traceback", "this_module_does_not_exist_anywhere", "broken_import.py", "ModuleNotFoundError"}},
		{"missing script", []string{"serve", "testdata/nope.py", "--listen", "127.0.0.1:0"},
			[]string{"does not exist"}},
		{"missing callable", []string{"serve", "testdata/hello.py", "--callable", "nothere", "--listen", "127.0.0.1:0"},
			[]string{"has no attribute 'nothere'", "--callable"}},
		{"not callable", []string{"serve", "os:sep", "--listen", "127.0.0.1:0"},
			[]string{"not a WSGI callable"}},
		{"no app", []string{"serve"}, []string{"which app?"}},
		{"bad threads", []string{"serve", "testdata/hello.py", "--threads", "0"}, []string{"at least 1"}},
		{"unknown flag", []string{"serve", "testdata/hello.py", "--nope"}, []string{"flag provided but not defined"}},
		{"unknown command", []string{"bogus"}, []string{"unknown command"}},
		{"port in use", nil, []string{"--listen"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.name == "port in use" {
				s := startServer(t, "testdata/hello.py")
				args = []string{"serve", "testdata/hello.py", "--listen", s.Addr}
			}
			if args[0] == "serve" {
				args = append(args, asRoot()...)
			}
			r := runPyhost(t, together, args...)
			if r.Code == 0 {
				t.Fatalf("pyhost %v exited 0:\n%s", args, r.Out)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Out, w) {
					t.Errorf("output lacks %q:\n%s", w, r.Out)
				}
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := runPyhost(t, together, "version")
	out := r.Out
	if r.Code != 0 || !strings.Contains(out, "pyhost ") || !strings.Contains(out, "Python 3.") ||
		!strings.Contains(out, "build: ") {
		t.Errorf("version: exit %d\n%s", r.Code, out)
	}
	// The linkage scripts/with-python.sh chose for this build is the one the binary has.
	if linkage, err := os.ReadFile(filepath.Join(os.Getenv("PKG_CONFIG_PATH"), "linkage")); err == nil &&
		os.Getenv("PYHOST_TEST_BINARY") == "" {
		want := map[string]string{"static": "libpython: static, linked into this binary",
			"shared": "libpython: shared, /"}[strings.TrimSpace(string(linkage))]
		if want == "" || !strings.Contains(out, want) {
			t.Errorf("built with %s libpython, but version says:\n%s", linkage, out)
		}
	} else if !strings.Contains(out, "libpython: ") {
		t.Errorf("version does not say how libpython is linked:\n%s", out)
	}
	help := runPyhost(t, together, "help")
	for _, flag := range []string{"-listen", "-threads", "-callable", "-python-path", "-python-home",
		"-chdir", "-shutdown-timeout"} {
		if !strings.Contains(help.Out, flag) {
			t.Errorf("help lacks %s (exit %d):\n%s", flag, help.Code, help.Out)
		}
	}
}

// TestConcurrentClients: 32 clients × 200 requests against 8 request threads; every response
// must be the one asked for, none lost.
func TestConcurrentClients(t *testing.T) {
	s := startServer(t, "testdata/slow.py", "--threads", "8")
	id := func(c, i int) string { return fmt.Sprintf("%d-%d", c, i) }
	for _, err := range concurrentGets(s, 32, 200,
		func(c, i int) string { return "/?ms=0&id=" + id(c, i) },
		func(c, i int) string { return "slept 0 id=" + id(c, i) }) {
		t.Error(err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, "testdata/slow.py", "--threads", "4")
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(s.URL + "/?ms=1500&id=inflight")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	waitForLog(t, s, "slow.py: started id=inflight") // the request is inside Python now
	if err := s.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, s.Log)
	}
	if got := <-result; got != "slept 1500 id=inflight" {
		t.Errorf("in-flight request: %q", got)
	}
	if !strings.Contains(s.Log.String(), "stopped cleanly") {
		t.Errorf("no clean stop in the log:\n%s", s.Log)
	}
	if _, err := http.Get(s.URL + "/"); err == nil {
		t.Errorf("still accepting after shutdown")
	}
}

func TestShutdownTimeout(t *testing.T) {
	s := startServer(t, "testdata/slow.py", "--shutdown-timeout", "300ms")
	result := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.URL + "/?ms=30000&id=outlives")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		result <- err
	}()
	waitForLog(t, s, "slow.py: started id=outlives")
	if err := s.stop(); exitCode(err) == 0 {
		t.Errorf("exit 0 although a request outlived --shutdown-timeout")
	}
	// The process ended while the request was still sleeping: its client lost the connection
	// instead of getting a response, so the shutdown did not wait for it.
	if err := <-result; err == nil {
		t.Errorf("the request completed: shutdown waited for it instead of the timeout")
	}
	if !strings.Contains(s.Log.String(), "shutdown timeout") {
		t.Errorf("log does not explain:\n%s", s.Log)
	}
}

// TestVirtualenv: --python-home with a virtualenv makes its site-packages importable.
func TestVirtualenv(t *testing.T) {
	python := os.Getenv("PYHOST_TEST_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(python, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("making a virtualenv with %s: %v\n%s", python, err, out)
	}
	purelib, err := exec.Command(filepath.Join(venv, "bin", "python3"), "-c",
		"import sysconfig; print(sysconfig.get_paths()['purelib'])").Output()
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(strings.TrimSpace(string(purelib)), "venv_only_module.py")
	writeFile(t, mod, "MESSAGE = 'from the virtualenv'\n")
	s := startServer(t, "testdata/venv_app.py", "--python-home", venv)
	resp, body := s.get(t, "/")
	if resp.StatusCode != 200 || string(body) != "from the virtualenv prefix="+venv {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
}

// TestShutdownClosesUnusedConnections: a connection that never sent a request does not hold
// up shutdown. net/http alone would wait 5 s for it, past this 2 s --shutdown-timeout, and
// pyhost would then exit 1 for requests "still running".
func TestShutdownClosesUnusedConnections(t *testing.T) {
	s := startServer(t, "testdata/hello.py", "--shutdown-timeout", "2s")
	dial(t, s)
	if resp, _ := s.get(t, "/"); resp.StatusCode != 200 { // the server has accepted it by now
		t.Fatalf("status %d", resp.StatusCode)
	}
	client.CloseIdleConnections()
	if err := s.stop(); err != nil {
		t.Errorf("exit after SIGTERM with an unused connection open: %v\n%s", err, s.Log)
	}
	if !strings.Contains(s.Log.String(), "stopped cleanly") {
		t.Errorf("no clean stop:\n%s", s.Log)
	}
}

// TestFinalizeIsBounded: an app thread that keeps Python's finalisation waiting does not keep
// pyhost from exiting: it gives up after the shutdown timeout, says why, and exits 1.
func TestFinalizeIsBounded(t *testing.T) {
	for _, group := range []string{"%{GLOBAL}", "sub"} {
		t.Run(group, func(t *testing.T) {
			s := startServer(t, "testdata/nondaemon_thread.py", "--shutdown-timeout", "1s",
				"--application-group", group)
			if resp, body := s.get(t, "/"); resp.StatusCode != 200 || string(body) != "background thread alive=1\n" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if err := s.stop(); exitCode(err) != 1 {
				t.Errorf("exit %v, want 1\n%s", err, s.Log)
			}
			if !strings.Contains(s.Log.String(), "did not finish finalising") {
				t.Errorf("log does not say why:\n%s", s.Log)
			}
		})
	}
}

// TestDaemonThreads: an app's daemon thread never crashes the exit. The main interpreter is
// finalised as usual; a sub-interpreter that still runs one is left alone, and pyhost says so.
func TestDaemonThreads(t *testing.T) {
	cases := map[string]string{"%{GLOBAL}": "stopped cleanly", "sub": "still run daemon threads"}
	for group, want := range cases {
		t.Run(group, func(t *testing.T) {
			s := startServer(t, "testdata/daemon_thread.py", "--application-group", group)
			if resp, body := s.get(t, "/"); resp.StatusCode != 200 || string(body) != "daemon thread alive=1\n" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if err := s.stop(); err != nil {
				t.Errorf("exit: %v\n%s", err, s.Log)
			}
			if !strings.Contains(s.Log.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, s.Log)
			}
		})
	}
}
