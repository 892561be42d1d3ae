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
		Error   string `json:"error"`
		Modules []struct {
			Name string `json:"name"`
			File string `json:"file"`
		} `json:"modules"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil || r.Code != 0 {
		t.Skipf("PyYAML's C extension does not import in Python %s (Debian's python3-yaml, "+
			"for the system Python: scripts/deps.sh test): %s%s", linked.Version, c.Error,
			lastLine(r.Stderr))
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

// NumPy 2 (forky's 2.4 on 3.14 and 3.15) refuses a second exec in a process ("cannot load
// module more than once per process") after loading, against its word, in a shared-GIL
// sub-interpreter: two named groups with it, and the second's failure names the module.
func TestLoadOneInterpreterPerProcessNumPy2(t *testing.T) {
	needSystemPython(t, "NumPy 2 (python3-numpy)")
	if linked.Minor < 14 || linked.FreeThreaded {
		t.Skipf("Debian's NumPy for Python %s is not NumPy 2 (forky's 2.4 is, on 3.14 and 3.15)",
			linked.Version)
	}
	s := startServer(t, "--gil", "shared", "--mount", "/a=testdata/numpy_app.py,group=A",
		"--mount", "/b=testdata/numpy_app.py,group=B")
	if resp, body := s.get(t, "/a/"); resp.StatusCode != 200 {
		t.Fatalf("/a: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.get(t, "/b/"); resp.StatusCode != 503 {
		t.Fatalf("/b, second interpreter: %d %s, want 503", resp.StatusCode, body)
	}
	waitForLog(t, s, "loads in one interpreter per process")
	if log := s.Log.String(); !strings.Contains(log,
		"module=numpy._core._multiarray_umath why=\"extension module numpy._core._multiarray_umath "+
			"loads in one interpreter per process") {
		t.Errorf("the load failure does not name NumPy's module:\n%s", log)
	}
	r := runPyhost(t, together, "check", "testdata/numpy_app.py", "--gil", "shared")
	if !strings.Contains(r.Out, "numpy._core._multiarray_umath: multi-phase init, "+
		"multiple_interpreters=not_supported, gil=not_used; loads in one interpreter per process") {
		t.Errorf("check --gil shared does not mark NumPy's module:\n%s", r.Out)
	}
}
