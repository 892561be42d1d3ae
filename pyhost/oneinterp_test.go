package pyhost_test

// Extension modules that load in one interpreter per process whatever they declare (Cython
// < 3.1's "Interpreter change detected"): Debian 12's PyYAML (yaml._yaml, python3-yaml) on the
// system 3.11. --application-group auto puts every app that imports one in %{GLOBAL}, a
// failed load says what it means and what to do, once, and pyhost check warns.

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

const yamlApp = "testdata/yaml_app.py"

// needCythonYAML skips unless yaml._yaml imports here and carries Cython's one-interpreter
// check (its refusal message is in the shared object).
func needCythonYAML(t *testing.T) {
	t.Helper()
	needSystemPython(t, "PyYAML (python3-yaml)")
	r := runPyhost(t, apart, "check", yamlApp, "--application-group", "%{GLOBAL}", "--json")
	var c struct {
		Modules []struct {
			Name string `json:"name"`
			File string `json:"file"`
		} `json:"modules"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil {
		t.Skipf("PyYAML's C extension does not import here (install python3-yaml, "+
			"scripts/deps.sh test): %s", lastLine(r.Stdout+r.Stderr))
	}
	for _, m := range c.Modules {
		if m.Name != "yaml._yaml" {
			continue
		}
		so, err := os.ReadFile(m.File)
		if err == nil && bytes.Contains(so, []byte("Interpreter change detected")) {
			return
		}
	}
	t.Skip("yaml._yaml here is not built by a Cython that refuses a second interpreter " +
		"(Cython < 3.1)")
}

// Two mounts of an app that imports yaml._yaml both land in %{GLOBAL} and serve (before, the
// first took a shared-GIL sub-interpreter and the second failed to load); a pure-Python mount
// beside them still gets a sub-interpreter.
func TestAutoPlacementOneInterpreterPerProcess(t *testing.T) {
	needCythonYAML(t)
	s := startServer(t, "--application-group", "auto", "--preload",
		"--mount", "/a="+yamlApp, "--mount", "/b="+yamlApp, "--mount", "/pure=testdata/isolation.py")
	for _, prefix := range []string{"/a", "/b"} {
		wantIn(t, prefix, placedLine(t, s, prefix), "application_group=%{GLOBAL}",
			"placement=main", "module=yaml._yaml", "loads in one interpreter per process")
		if resp, body := s.get(t, prefix+"/"); resp.StatusCode != 200 ||
			!strings.Contains(string(body), "libyaml") {
			t.Errorf("%s: %d %s", prefix, resp.StatusCode, body)
		}
	}
	wantIn(t, "isolation.py", placedLine(t, s, "/pure"), "placement=shared-gil")
}

// Two named groups (two sub-interpreters) with the app: the first serves, the second cannot
// load, and the log says which module, what it means and what to do, once, not per retry.
func TestLoadOneInterpreterPerProcessExplainedOnce(t *testing.T) {
	needCythonYAML(t)
	s := startServer(t, "--mount", "/a="+yamlApp+",group=A", "--mount", "/b="+yamlApp+",group=B")
	if resp, body := s.get(t, "/a/"); resp.StatusCode != 200 {
		t.Fatalf("/a: %d %s", resp.StatusCode, body)
	}
	for i := 0; i < 3; i++ {
		if resp, body := s.get(t, "/b/"); resp.StatusCode != 503 {
			t.Fatalf("/b, second interpreter: %d %s, want 503", resp.StatusCode, body)
		}
		time.Sleep(1100 * time.Millisecond) // past the first retries' back-off (1 s, 2 s)
	}
	waitForLog(t, s, "loads in one interpreter per process (explained above)")
	log := s.Log.String()
	if n := countLines(log, "why="); n != 1 {
		t.Errorf("explained %d times, want once:\n%s", n, log)
	}
	for _, want := range []string{"module=yaml._yaml", "only the first interpreter",
		"--application-group %{GLOBAL}", "process group of its own", "Cython >= 3.1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if resp, _ := s.get(t, "/a/"); resp.StatusCode != 200 {
		t.Errorf("/a stopped serving: %d", resp.StatusCode)
	}
}

// pyhost check, in a shared-GIL sub-interpreter: yaml._yaml loads there, so only loading it
// again in a second interpreter shows it: a WARNING with why and the fix (exit 0: the app
// runs there, alone).
func TestCheckOneInterpreterPerProcess(t *testing.T) {
	needCythonYAML(t)
	r := runPyhost(t, together, "check", yamlApp, "--gil", "shared")
	for _, want := range []string{"WARNING  yaml._yaml", "loads in one interpreter per process",
		"fix: put every app that imports it in one interpreter", "Interpreter change detected",
		"sub-interpreter --gil shared: runs, with warnings"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("check --gil shared lacks %q (exit %d):\n%s", want, r.Code, r.Out)
		}
	}
	if r.Code != 0 {
		t.Errorf("exit %d, want 0 (it runs there, with a warning)", r.Code)
	}
	j := runPyhost(t, apart, "check", yamlApp, "--gil", "shared", "--json")
	if !strings.Contains(j.Stdout, `"one_interpreter_per_process": true`) {
		t.Errorf("--json lacks one_interpreter_per_process:\n%s", j.Stdout)
	}
}
