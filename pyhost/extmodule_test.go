package pyhost_test

// What `pyhost check` and the server at load say about each extension module in each place,
// with testdata/extmod/extmod.c built by the test, with the Python under test, in every way a
// module can declare what it supports (single-phase; multi-phase with no slot, or with
// Py_mod_multiple_interpreters not_supported / supported / per_interpreter_gil_supported, or
// per-interpreter-GIL and Py_mod_gil not_used), and with NumPy where the Python has it.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// extVariants are extmod.c's builds: module name -> its VARIANT.
var extVariants = map[string]string{
	"ext_single": "SINGLE", "ext_default": "DEFAULT", "ext_not_supported": "NOT_SUPPORTED",
	"ext_supported": "SUPPORTED", "ext_per_gil": "PER_GIL", "ext_no_gil": "NO_GIL",
}

// testPython is the interpreter of the Python the binary under test embeds.
func testPython() string {
	if p := os.Getenv("PYHOST_TEST_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// buildExtModules compiles every variant into a new directory and returns it, with one app
// per module there (app_NAME.py imports NAME).
func buildExtModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("building the test extension module needs gcc")
	}
	out, err := exec.Command(testPython(), "-c", "import sysconfig; "+
		"print(sysconfig.get_path('include')); print(sysconfig.get_config_var('EXT_SUFFIX'))").Output()
	if err != nil {
		t.Fatalf("%s: asking sysconfig for the include directory: %v", testPython(), err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		t.Fatalf("sysconfig said %q", out)
	}
	include, suffix := lines[0], lines[1]
	if _, err := os.Stat(filepath.Join(include, "Python.h")); err != nil {
		t.Skipf("no Python.h for %s (its -dev package): %v", testPython(), err)
	}
	dir := t.TempDir()
	src := repoPath("testdata", "extmod", "extmod.c")
	for name, variant := range extVariants {
		cmd := exec.Command("gcc", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-O1",
			"-I"+include, "-DMODNAME="+name, "-DVARIANT="+variant, src,
			"-o", filepath.Join(dir, name+suffix))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
		app := "import " + name + "\n\n\ndef application(environ, start_response):\n" +
			"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
			"    return [b'" + name + " %d\\n' % " + name + ".bump()]\n"
		writeFile(t, filepath.Join(dir, "app_"+name+".py"), app)
	}
	return dir
}

// checkJSON is the part of `pyhost check --json` these tests read.
type checkJSON struct {
	OK      bool   `json:"ok"`
	Refused string `json:"refused_module"`
	Modules []struct {
		Name        string `json:"name"`
		Init        string `json:"init"`
		MultiInterp string `json:"multiple_interpreters"`
		GIL         string `json:"gil"`
		Seen        string `json:"seen"`
		Verdict     string `json:"verdict"`
		Why         string `json:"why"`
		Fix         string `json:"fix"`
	} `json:"modules"`
	GILEnabled *bool `json:"gil_enabled"`
}

func checkExt(t *testing.T, dir, app string, args ...string) (checkJSON, ran) {
	t.Helper()
	r := runPyhost(t, apart, append([]string{"check", filepath.Join(dir, app), "--python-path",
		dir, "--json"}, args...)...)
	var c checkJSON
	if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
		t.Fatalf("check %s %q: exit %d, not JSON (%v):\n%s%s", app, args, r.Code, err,
			r.Stdout, r.Stderr)
	}
	return c, r
}

// expectedVerdicts is what CPython does with each variant in each mode pyhost's check can
// put it, as found with the real interpreters (3.11, 3.13, 3.13t, 3.14, 3.15).
func expectedVerdicts(mode string) map[string]string {
	switch {
	case linked.FreeThreaded && mode == "shared": // sub-interpreters that check, sharing the GIL
		return map[string]string{"ext_single": "refused", "ext_default": "runs",
			"ext_not_supported": "refused", "ext_supported": "runs", "ext_per_gil": "runs",
			"ext_no_gil": "runs"}
	case linked.FreeThreaded: // free: the main interpreter, where Py_mod_gil decides
		return map[string]string{"ext_single": "warns", "ext_default": "warns",
			"ext_not_supported": "warns", "ext_supported": "warns", "ext_per_gil": "warns",
			"ext_no_gil": "runs"}
	case mode == "own":
		return map[string]string{"ext_single": "refused", "ext_default": "refused",
			"ext_not_supported": "refused", "ext_supported": "refused", "ext_per_gil": "runs",
			"ext_no_gil": "runs"}
	case linked.Minor < 12: // no slots yet: everything loads, single-phase with its state shared
		return map[string]string{"ext_single": "warns", "ext_default": "runs",
			"ext_not_supported": "runs", "ext_supported": "runs", "ext_per_gil": "runs",
			"ext_no_gil": "runs"}
	}
	return map[string]string{"ext_single": "warns", "ext_default": "runs",
		"ext_not_supported": "warns", "ext_supported": "runs", "ext_per_gil": "runs",
		"ext_no_gil": "runs"}
}

// expectedDecl is what each variant declares on the linked Python: the slots it has.
func expectedDecl(name string) (init, multi, gil string) {
	init = "multi-phase"
	switch name {
	case "ext_single":
		return "single-phase", "", ""
	case "ext_not_supported":
		multi = "not_supported"
	case "ext_supported":
		multi = "supported"
	case "ext_per_gil", "ext_no_gil":
		multi = "per_interpreter_gil_supported"
	}
	if linked.Minor < 12 {
		multi = ""
	}
	if name == "ext_no_gil" && linked.Minor >= 13 {
		gil = "not_used"
	}
	return init, multi, gil
}

// Each variant in each GIL mode of this build: check reads its declarations, gives CPython's
// verdict, and exits 1 exactly when the module is refused (the import really failed there).
func TestCheckExtensionModuleVariants(t *testing.T) {
	dir := buildExtModules(t)
	for _, mode := range gilModes() {
		want := expectedVerdicts(mode)
		for name := range extVariants {
			c, r := checkExt(t, dir, "app_"+name+".py", "--gil", mode)
			var found bool
			for _, m := range c.Modules {
				if m.Name != name {
					continue
				}
				found = true
				init, multi, gil := expectedDecl(name)
				if m.Init != init || m.MultiInterp != multi || m.GIL != gil {
					t.Errorf("%s: declares %s/%q/%q, want %s/%q/%q", name, m.Init,
						m.MultiInterp, m.GIL, init, multi, gil)
				}
				if m.Verdict != want[name] {
					t.Errorf("--gil %s: %s is %q, want %q\n%s", mode, name, m.Verdict,
						want[name], r.Stdout)
				}
				if m.Verdict != "runs" && (m.Why == "" || m.Fix == "") {
					t.Errorf("--gil %s: %s %s without why and fix", mode, name, m.Verdict)
				}
			}
			if !found {
				t.Errorf("--gil %s: %s not in the report:\n%s%s", mode, name, r.Stdout, r.Stderr)
				continue
			}
			refused := want[name] == "refused"
			if c.OK == refused || (r.Code == 1) != refused || (c.Refused == name) != refused {
				t.Errorf("--gil %s, %s: ok %v, exit %d, refused %q; want the import refused: %v",
					mode, name, c.OK, r.Code, c.Refused, refused)
			}
		}
	}
}

// The text report: a refused module with its fix and exit 1; a single-phase module in a
// shared-GIL sub-interpreter with a warning and exit 0; the main interpreter takes it.
func TestCheckExtensionModuleText(t *testing.T) {
	dir := buildExtModules(t)
	app := filepath.Join(dir, "app_ext_single.py")
	check := func(args ...string) ran {
		return runPyhost(t, together, append([]string{"check", app, "--python-path", dir},
			args...)...)
	}
	if r := check("--application-group", "%{GLOBAL}"); r.Code != 0 ||
		!strings.Contains(r.Out, "ok       ext_single: single-phase init") {
		t.Errorf("check in %%{GLOBAL}: exit %d\n%s", r.Code, r.Out)
	}
	if !linked.FreeThreaded {
		r := check("--gil", "shared")
		if r.Code != 0 || !strings.Contains(r.Out, "WARNING  ext_single: single-phase init") ||
			!strings.Contains(r.Out, "one copy per process") ||
			!strings.Contains(r.Out, "warning: ext_single load here but may misbehave") {
			t.Errorf("check single-phase --gil shared: exit %d\n%s", r.Code, r.Out)
		}
	}
	mode := ownOrFree(t, "a refused module")
	if linked.FreeThreaded {
		mode = "shared" // a free-threaded build's sub-interpreters refuse single-phase modules
	}
	r := check("--gil", mode)
	if r.Code != 1 || !strings.Contains(r.Out, "REFUSED  ext_single: single-phase init") ||
		!strings.Contains(r.Out, "--application-group %{GLOBAL}") ||
		!strings.Contains(r.Out, "result: the app cannot run in") {
		t.Errorf("check single-phase --gil %s: exit %d\n%s", mode, r.Code, r.Out)
	}
}

// When the target refuses a module, the modules the import never reached are still listed
// (from an import in the main interpreter, after the target's), with their verdicts.
func TestCheckListsModulesAfterARefusal(t *testing.T) {
	mode := ownOrFree(t, "a refused module")
	if linked.FreeThreaded {
		mode = "shared"
	}
	dir := buildExtModules(t)
	writeFile(t, filepath.Join(dir, "app_three.py"),
		"import ext_per_gil\nimport ext_single\nimport ext_not_supported\n\n\n"+
			"def application(environ, start_response):\n    return []\n")
	c, r := checkExt(t, dir, "app_three.py", "--gil", mode)
	seen := map[string]string{}
	for _, m := range c.Modules {
		seen[m.Name] = m.Seen + " " + m.Verdict
	}
	want := map[string]string{"ext_per_gil": "loaded runs", "ext_single": "refused refused",
		"ext_not_supported": "not reached refused"}
	for name, w := range want {
		if seen[name] != w {
			t.Errorf("%s: %q, want %q\n%s", name, seen[name], w, r.Stdout)
		}
	}
	if r.Code != 1 || c.Refused != "ext_single" {
		t.Errorf("exit %d, refused %q", r.Code, c.Refused)
	}
}

// At load, a module the app's interpreter refuses is explained in one record (module, why,
// fix), not once per retry; the mount answers 503 and the server goes on serving the rest.
func TestLoadRefusedExtensionExplainedOnce(t *testing.T) {
	mode := ownOrFree(t, "a refused module")
	if linked.FreeThreaded {
		mode = "shared"
	}
	dir := buildExtModules(t)
	s := startServer(t, "--gil", mode, "--python-path", dir,
		"--mount", "/x="+filepath.Join(dir, "app_ext_single.py")+",group=X",
		"--mount", "/ok="+filepath.Join(dir, "app_ext_per_gil.py")+",group=OK")
	for i := 0; i < 3; i++ {
		if resp, body := s.get(t, "/x/"); resp.StatusCode != 503 {
			t.Fatalf("a refused module: %d %s, want 503", resp.StatusCode, body)
		}
		if resp, body := s.get(t, "/ok/"); resp.StatusCode != 200 {
			t.Fatalf("the other group: %d %s", resp.StatusCode, body)
		}
		time.Sleep(1100 * time.Millisecond) // past the first retries' back-off (1 s, 2 s)
	}
	waitForLog(t, s, "cannot run in its interpreter (explained above)")
	log := s.Log.String()
	if n := countLines(log, "why="); n != 1 {
		t.Errorf("the refusal was explained %d times, want once:\n%s", n, log)
	}
	for _, want := range []string{"module=ext_single", "--application-group %{GLOBAL}",
		"CPython refuses it in"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// A single-phase module that loads in a shared-GIL sub-interpreter is named in a warning at
// load, once per group; its C state is indeed one per process (the main interpreter and the
// group count on the same counter).
func TestLoadWarnsSinglePhaseInSharedSubInterpreter(t *testing.T) {
	if linked.FreeThreaded {
		t.Skip("a free-threaded build refuses single-phase modules in every sub-interpreter " +
			"(TestLoadRefusedExtensionExplainedOnce)")
	}
	dir := buildExtModules(t)
	app := filepath.Join(dir, "app_ext_single.py")
	s := startServer(t, "--gil", "shared", "--python-path", dir,
		"--mount", "/="+app+",group=%{GLOBAL}", "--mount", "/s="+app+",group=S",
		"--mount", "/t="+app+",group=S")
	var counts []string
	for _, path := range []string{"/", "/s/", "/t/", "/"} {
		resp, body := s.get(t, path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		counts = append(counts, strings.TrimSpace(string(body)))
	}
	if strings.Join(counts, ",") != "ext_single 1,ext_single 2,ext_single 3,ext_single 4" {
		t.Errorf("one C counter per process expected across interpreters, got %q", counts)
	}
	waitForLog(t, s, "modules=ext_single")
	log := s.Log.String()
	if n := countLines(log, "modules=ext_single"); n != 1 {
		t.Errorf("warned %d times for group S's two mounts, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "application_group=S") || !strings.Contains(log, "one copy per process") {
		t.Errorf("the warning does not name the group or say why:\n%s", log)
	}
}

// NumPy where the Python has it: Debian 12's 1.24 on 3.11 (single-phase modules: loaded in a
// shared-GIL sub-interpreter with a warning, never a plain ok), forky's 2.4 on 3.14 / 3.15
// (declares not_supported: a warning there, refused in an own-GIL sub-interpreter).
func TestCheckNumPy(t *testing.T) {
	probe := runPyhost(t, together, "check", "testdata/numpy_app.py", "--application-group",
		"%{GLOBAL}", "--python-path", debianDistPackages)
	if probe.Code != 0 && linked.System {
		t.Fatalf("check numpy in %%{GLOBAL}: exit %d\n%s", probe.Code, probe.Out)
	}
	if probe.Code != 0 {
		t.Skipf("NumPy does not import in Python %s (Debian's python3-numpy is built for its "+
			"own Python): %s", linked.Version, lastLine(probe.Out))
	}
	mode := "shared"
	if linked.FreeThreaded {
		t.Skip("no NumPy built for this free-threaded Python")
	}
	r := runPyhost(t, together, "check", "testdata/numpy_app.py", "--gil", mode,
		"--python-path", debianDistPackages)
	if r.Code != 0 || !strings.Contains(r.Out, "WARNING  numpy.") ||
		regexp.MustCompile(`(?m)^  ok +numpy\._?core\._multiarray_umath`).MatchString(r.Out) {
		t.Errorf("check numpy --gil shared: exit %d\n%s", r.Code, r.Out)
	}
	if linked.Minor >= 12 {
		r := runPyhost(t, together, "check", "testdata/numpy_app.py", "--gil", "own",
			"--python-path", debianDistPackages)
		if r.Code != 1 || !regexp.MustCompile(`REFUSED  numpy\._?core\._multiarray_umath`).MatchString(r.Out) {
			t.Errorf("check numpy --gil own: exit %d\n%s", r.Code, r.Out)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
