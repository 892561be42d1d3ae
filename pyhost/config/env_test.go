package config

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyhost/pyhost/gil"
)

var envBuild = gil.Build{VersionHex: 0x030B00F0, Version: "3.11.0"}

func TestEnvVar(t *testing.T) {
	for flag, want := range map[string]string{"threads": "PYHOST_THREADS",
		"max-body-size": "PYHOST_MAX_BODY_SIZE", "listen": "PYHOST_LISTEN"} {
		if got := EnvVar(flag); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestReadEnv(t *testing.T) {
	fs := ServeFlags(&Config{}, io.Discard)
	got, ignored, err := readEnv(fs, []string{
		"PYHOST_THREADS=4", "PYHOST_LISTEN=0.0.0.0:8000  [::]:8000", "PYHOST_PRELOAD=yes",
		"PYHOST_MOUNT=/a=a.py,group=x /b=b.py", "PYHOST_DISPLAY_NAME=my app",
		"PYHOST_WORKER=1", "PYHOST_WORKER_LISTENERS=2", "PYHOST_TEST_BINARY=x",
		"PYHOST_DJANGO_DB=x", "PYHOST_REQUIRE_PROMTOOL=1", "PYHOST_PYTHON_CACHE=/c",
		"PYHOST_ARGS=--x", "PYHOST_DEBIAN_MIRROR=m", "PYHOST_DEDICATED=1",
		"PYHOST_CONFIG=f.toml", "PYHOST_CHDIR=", "HOME=/root",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"threads": {"4"}, "listen": {"0.0.0.0:8000", "[::]:8000"},
		"preload": {"true"}, "mount": {"/a=a.py,group=x", "/b=b.py"}, "display-name": {"my app"}}
	if len(got) != len(want) {
		t.Errorf("got %d flags, want %d", len(got), len(want))
	}
	for name, values := range want {
		if got[name] == nil || !slices.Equal(got[name].values, values) {
			t.Errorf("%s: got %+v, want %q", name, got[name], values)
		}
	}
	if w := []string{"PYHOST_ARGS", "PYHOST_DEBIAN_MIRROR", "PYHOST_DEDICATED", "PYHOST_DJANGO_DB",
		"PYHOST_PYTHON_CACHE", "PYHOST_REQUIRE_PROMTOOL"}; !slices.Equal(ignored, w) {
		t.Errorf("ignored %q, want %q", ignored, w)
	}
}

func TestReadEnvMistakes(t *testing.T) {
	fs := ServeFlags(&Config{}, io.Discard)
	for v, want := range map[string]string{
		"PYHOST_THREDS=4":           "did you mean PYHOST_THREADS?",
		"PYHOST_threads=4":          "did you mean PYHOST_THREADS?",
		"PYHOST_PYTHONPATH=/x":      "did you mean PYHOST_PYTHON_PATH?",
		"PYHOST_MAX_BODY=1M":        "did you mean PYHOST_MAX_BODY_SIZE?",
		"PYHOST_ACCESS_LOG_FILE=-":  "did you mean PYHOST_ACCESS_LOG?",
		"PYHOST_CONFG=x":            "did you mean PYHOST_CONFIG?",
		"PYHOST_BIND=x":             "PYHOST_ variables use the flag's own name: PYHOST_LISTEN",
		"PYHOST_MAX_REQUESTS=9":     "PYHOST_MAXIMUM_REQUESTS",
		"PYHOST_TIMEOUT=30":         "--request-timeout",
		"PYHOST_PRINT_CONFIG=1":     "command-line flag only",
		"PYHOST_GRACEFUL_TIMEOT=1s": "did you mean PYHOST_GRACEFUL_TIMEOUT?",
	} {
		if _, _, err := readEnv(fs, []string{v}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", v, err, want)
		}
	}
}

// Defaults < environment < flags, for serve APP; a flag replaces all of a repeatable flag's
// variable.
func TestParseServeEnvPrecedence(t *testing.T) {
	env := []string{"PYHOST_THREADS=3", "PYHOST_LISTEN=127.0.0.1:1 127.0.0.1:2",
		"PYHOST_SHUTDOWN_TIMEOUT=5s", "PYHOST_PYTHON_PATH=/a /b"}
	cfg, got, err := parseServe([]string{"app.py", "--threads", "7", "--python-path", "/c"},
		env, io.Discard, envBuild)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Threads != 7 || cfg.ShutdownTimeout.String() != "5s" ||
		!slices.Equal(cfg.Listen, []string{"127.0.0.1:1", "127.0.0.1:2"}) ||
		!slices.Equal(cfg.PythonPath, []string{"/c"}) {
		t.Errorf("got %+v", cfg)
	}
	for name, from := range map[string]string{"threads": "flag --threads",
		"listen": "env PYHOST_LISTEN", "python-path": "flag --python-path"} {
		if got[name] == nil || got[name].from != from {
			t.Errorf("%s from %+v, want %s", name, got[name], from)
		}
	}
	if _, _, err := parseServe([]string{"app.py"}, []string{"PYHOST_THREADS=x"}, io.Discard,
		envBuild); err == nil || !strings.Contains(err.Error(), `PYHOST_THREADS: "x"`) {
		t.Errorf("a bad value: %v", err)
	}
	// A bad variable is not reported when the flag is given: the flag wins without it.
	if _, _, err := parseServe([]string{"app.py", "--threads", "2"}, []string{"PYHOST_THREADS=x"},
		io.Discard, envBuild); err != nil {
		t.Errorf("a bad variable under a flag: %v", err)
	}
}

// Defaults < config file < environment < flags, for serve --config (or PYHOST_CONFIG).
func TestConfigFileEnvPrecedence(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	path := filepath.Join(dir, "p.toml")
	for name, text := range map[string]string{app: "", path: "listen = \"127.0.0.1:9\"\n" +
		"[group.g]\nthreads = 2\nchdir = \"/tmp\"\nshutdown-timeout = \"9s\"\n" +
		"[[mount]]\nprefix = \"/\"\napp = \"app.py\"\n"} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PYHOST_CONFIG=" + path, "PYHOST_THREADS=4", "PYHOST_CHDIR=/",
		"PYHOST_LISTEN=127.0.0.1:10"}
	cfg, got, found, err := parseServeConfig([]string{"--chdir", "/srv"}, env, io.Discard, envBuild)
	if !found || err != nil {
		t.Fatal(found, err)
	}
	if cfg.Threads != 4 || cfg.Chdir != "/srv" || cfg.ShutdownTimeout.String() != "9s" ||
		!slices.Equal(cfg.Listen, []string{"127.0.0.1:10"}) {
		t.Errorf("got %+v", cfg)
	}
	for name, from := range map[string]string{"threads": "env PYHOST_THREADS",
		"chdir": "flag --chdir", "shutdown-timeout": path + ":5", "listen": "env PYHOST_LISTEN"} {
		if got[name] == nil || got[name].from != from {
			t.Errorf("%s from %+v, want %s", name, got[name], from)
		}
	}
	_, _, _, err = parseServeConfig([]string{"app.py"}, env, io.Discard, envBuild)
	if err == nil || !strings.Contains(err.Error(), "PYHOST_CONFIG="+path) {
		t.Errorf("an APP with PYHOST_CONFIG: %v", err)
	}
}

func TestFamiliarNames(t *testing.T) {
	cfg, err := ParseServe([]string{"app.py", "-b", "127.0.0.1:1", "--bind", "127.0.0.1:2",
		"-w", "2", "--max-requests", "5", "--max-requests-jitter", "3"}, io.Discard, envBuild)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Listen, []string{"127.0.0.1:1", "127.0.0.1:2"}) || cfg.Processes != 2 ||
		cfg.Recycle.MaximumRequests != 5 || cfg.Recycle.MaximumRequestsJitter != 3 {
		t.Errorf("got %+v", cfg)
	}
	if _, err := ParseServe([]string{"app.py", "--workers", "3"}, io.Discard, envBuild); err != nil {
		t.Error(err)
	}
	if _, err := ParseServe([]string{"app.py", "--timeout", "30"}, io.Discard, envBuild); err == nil ||
		!strings.Contains(err.Error(), "--request-timeout") {
		t.Errorf("--timeout: %v", err)
	}
	// A config file uses the flag's own name.
	_, err = parseFile("f.toml", []byte("[group.g]\nworkers = 2\n[[mount]]\nprefix = \"/\"\n"+
		"app = \"m:app\"\n"), envBuild)
	if err == nil || !strings.Contains(err.Error(), "own name: processes") {
		t.Errorf("workers in a file: %v", err)
	}
}

func TestCutPrintConfig(t *testing.T) {
	rest, found := CutPrintConfig([]string{"app.py", "--print-config", "--threads", "2", "--", "--print-config"})
	if !found || !slices.Equal(rest, []string{"app.py", "--threads", "2", "--", "--print-config"}) {
		t.Errorf("%q %v", rest, found)
	}
}
