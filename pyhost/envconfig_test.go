package pyhost_test

// Configuration from the environment (PYHOST_<FLAG>), its order against flags and the config
// file, serve --print-config, and gunicorn's familiar names, through the real binary.

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// A config file says threads = 2; PYHOST_THREADS overrides it and a flag overrides the
// variable, as served over loopback (wsgi.multithread is false exactly with one thread).
func TestEnvOverridesConfigFile(t *testing.T) {
	t.Setenv("PYHOST_THREADS", "1")
	t.Setenv("PYHOST_DJANGO_DB", "/not/a/flag") // another program's PYHOST_ name: left alone
	s := startServer(t, "--config", "testdata/config/one-group.toml")
	if _, body := s.get(t, "/page"); !strings.Contains(string(body), "multithread=False") {
		t.Errorf("PYHOST_THREADS=1 over the file's threads = 2: /page answered %q\n%s", body, s.Log)
	}
	if !strings.Contains(s.Log.String(), "threads=1") {
		t.Errorf("the log does not say threads=1:\n%s", s.Log)
	}
	s = startServer(t, "--config", "testdata/config/one-group.toml", "--threads", "3")
	if _, body := s.get(t, "/page"); !strings.Contains(string(body), "multithread=True") ||
		!strings.Contains(s.Log.String(), "threads=3") {
		t.Errorf("--threads 3 over PYHOST_THREADS=1: /page answered %q\n%s", body, s.Log)
	}
}

// PYHOST_LISTEN (no --listen given) is where a plain serve APP listens; PYHOST_CONFIG names
// the file when --config is not given.
func TestEnvListenAndConfig(t *testing.T) {
	t.Setenv("PYHOST_LISTEN", "127.0.0.1:0")
	t.Setenv("PYHOST_CONFIG", "testdata/config/one-group.toml")
	p := startProcess(t)
	url := waitListening(t, p)
	if code, body := getText(t, url+"/api/x"); code != 200 || !strings.HasPrefix(body, "api script_name=/api ") {
		t.Errorf("GET /api/x: %d %q\n%s", code, body, p.Log)
	}
}

// waitListening waits for a process's first "serving" record and returns its http://ADDR.
func waitListening(t *testing.T, p *process) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if addrs := listenAddrs(p.Log.String()); len(addrs) > 0 {
			return "http://" + addrs[0]
		}
		if p.hasEnded() {
			break
		}
	}
	t.Fatalf("pyhost did not listen:\n%s", p.Log)
	return ""
}

// --print-config names each value's source, exits 0 and starts nothing.
func TestPrintConfigSources(t *testing.T) {
	t.Setenv("PYHOST_LISTEN", "127.0.0.1:7001 127.0.0.1:7002")
	t.Setenv("PYHOST_SHUTDOWN_TIMEOUT", "5s")
	t.Setenv("PYHOST_THREADS", "6")
	r := runPyhost(t, apart, "serve", "--print-config", "--config",
		"testdata/config/one-group.toml", "--threads", "3", "--bind", "127.0.0.1:7003")
	if r.Code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		`config +testdata/config/one-group.toml +flag --config`,
		`threads +3 +flag --threads`,
		`listen +127.0.0.1:7003 +flag --bind`,
		`shutdown-timeout +5s +env PYHOST_SHUTDOWN_TIMEOUT`,
		`max-body-size +100MiB +default`,
		// An empty default shows what serve runs with instead.
		`gil +shared +default`,
		`log-format +text +default`,
		`http-server +fast +default`,
		`mount +/api=testdata/config/site/app.py +testdata/config/one-group.toml:11`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(r.Stdout) {
			t.Errorf("no line %q in:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, "serving") {
		t.Errorf("--print-config started serving:\n%s%s", r.Stdout, r.Stderr)
	}
	// Without the flags: the environment beats the file, the file beats the default.
	t.Setenv("PYHOST_THREADS", "")
	r = runPyhost(t, apart, "serve", "--print-config", "--config", "testdata/config/one-group.toml")
	for _, want := range []string{
		`threads +2 +testdata/config/one-group.toml:5`,
		`listen +127.0.0.1:7001 +env PYHOST_LISTEN`,
		`listen +127.0.0.1:7002 +env PYHOST_LISTEN`,
	} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(r.Stdout) {
			t.Errorf("no line %q in:\n%s%s", want, r.Stdout, r.Stderr)
		}
	}
}

// -w is --processes and --max-requests is --maximum-requests: one worker under a supervisor
// (wsgi.multiprocess), recycled after 2 requests, as gunicorn's -w 1 --max-requests 2.
func TestFamiliarNames(t *testing.T) {
	s := startServer(t, "testdata/config/site/app.py", "-w", "1", "--max-requests", "2")
	if _, body := s.get(t, "/"); !strings.Contains(string(body), "multiprocess=True") {
		t.Errorf("-w 1: / answered %q", body)
	}
	for i := 0; i < 4; i++ {
		s.get(t, "/")
	}
	waitForLog(t, s, "maximum-requests 2 reached")
	r := runPyhost(t, apart, "serve", "--print-config", "testdata/hello.py", "-b", "127.0.0.1:7010",
		"--workers", "3", "--max-requests-jitter", "4", "--max-requests", "9")
	for _, want := range []string{`listen +127.0.0.1:7010 +flag -b`, `processes +3 +flag --workers`,
		`maximum-requests-jitter +4 +flag --max-requests-jitter`} {
		if !regexp.MustCompile(`(?m)^` + want + `$`).MatchString(r.Stdout) {
			t.Errorf("no line %q in:\n%s%s", want, r.Stdout, r.Stderr)
		}
	}
	r = runPyhost(t, apart, "help")
	for _, want := range []string{"-bind value", "the same as --listen", "not gunicorn's --graceful-timeout"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// Mistakes that would otherwise do nothing are refused, each saying what to write instead.
func TestEnvAndFlagMistakesRefused(t *testing.T) {
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"PYHOST_THREDS", "4"}, nil, "PYHOST_THREDS=4: pyhost serve has no --threds flag; did you mean PYHOST_THREADS?"},
		{[]string{"PYHOST_BIND", "0.0.0.0:80"}, nil, "PYHOST_ variables use the flag's own name: PYHOST_LISTEN"},
		{[]string{"PYHOST_THREADS", "many"}, nil, `PYHOST_THREADS: "many": `},
		{nil, []string{"--timeout", "30"}, "--request-timeout"},
	}
	for _, c := range cases {
		if c.env != nil {
			t.Setenv(c.env[0], c.env[1])
		}
		r := runPyhost(t, apart, append([]string{"serve", "testdata/hello.py"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%q %q: exit %d, want 2 and %q\n%s%s", c.env, c.args, r.Code, c.want, r.Stdout, r.Stderr)
		}
		if c.env != nil {
			t.Setenv(c.env[0], "") // empty: unset, for the next case
		}
	}
}
