package pyhost_test

// --application-group auto against the real binary and interpreter: each mount's app lands in
// the most isolated interpreter its extension modules allow, and one log record says where and
// why; an import error that is no refusal still fails the load.

import (
	"regexp"
	"strings"
	"testing"
)

// placedLine is the auto placement record of the app mounted at prefix.
func placedLine(t *testing.T, s *server, prefix string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="loaded WSGI application \(--application-group auto\)".* mount=` +
		regexp.QuoteMeta(prefix) + ` `)
	waitForLogMatch(t, s, re)
	for _, line := range strings.Split(s.Log.String(), "\n") {
		if re.MatchString(line) {
			return line
		}
	}
	return ""
}

func wantIn(t *testing.T, what, line string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(line, w) {
			t.Errorf("%s: the placement record lacks %q:\n%s", what, w, line)
		}
	}
}

// The single-phase module goes to %{GLOBAL}, named in the record; the pure-Python app beside
// it gets the most isolated placement of the mode.
func TestAutoPlacementSinglePhase(t *testing.T) {
	if linked.Minor < 12 {
		t.Skipf("Python %s does not refuse single-phase modules in sub-interpreters; "+
			"TestAutoPlacementNumPy covers 3.11", linked.Version)
	}
	if r := runPyhost(t, together, "check", "testdata/singlephase.py"); strings.Contains(r.Out, "No module named") {
		t.Skipf("Python %s was built without CPython's test modules (_testsinglephase)", linked.Version)
	}
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			args := []string{"--gil", mode, "--application-group", "auto", "--preload",
				"--mount", "/single=testdata/singlephase.py", "--mount", "/pure=testdata/isolation.py"}
			pure := "placement=shared-gil"
			switch mode {
			case "own":
				pure = "placement=isolated"
			case "free":
				args, pure = append(args, "--interpreters", "2"), "placement=isolated"
			}
			s := startServer(t, args...)
			wantIn(t, "singlephase.py", placedLine(t, s, "/single"), "application_group=%{GLOBAL}",
				"placement=main", "module=_testsinglephase")
			wantIn(t, "isolation.py", placedLine(t, s, "/pure"), pure)
			if resp, body := s.get(t, "/single"); resp.StatusCode != 200 {
				t.Errorf("/single: %d %s", resp.StatusCode, body)
			}
			main := s.report(t, s.URL+"/pure")
			if resp, _ := s.get(t, "/single"); resp.StatusCode != 200 {
				t.Errorf("/single stopped serving: %d", resp.StatusCode)
			}
			if main.Interp == 0 {
				t.Errorf("/pure: %+v", main)
			}
		})
	}
}

// Under --gil own a pure-Python app gets K own-GIL interpreters, and two mounts get a group
// each: neither sees the other's globals.
func TestAutoPlacementIsolated(t *testing.T) {
	if linked.FreeThreaded || linked.Minor < 12 {
		t.Skipf("own-GIL sub-interpreters need a GIL build ≥ 3.12; this is %s", linked.Version)
	}
	s := startServer(t, "--gil", "own", "--interpreters", "2", "--application-group", "auto",
		"--mount", "/a=testdata/isolation.py", "--mount", "/b=testdata/isolation.py")
	seen := map[int64]bool{}
	for i := 0; i < 10; i++ {
		seen[s.report(t, s.URL+"/a?set=apple").Interp] = true
	}
	if len(seen) != 2 {
		t.Errorf("10 requests to /a reached %d interpreters, want 2 (--interpreters 2)", len(seen))
	}
	if b := s.report(t, s.URL+"/b"); b.Value != nil || seen[b.Interp] {
		t.Errorf("mounts not isolated: /a in %v, /b %+v", seen, b)
	}
	for _, prefix := range []string{"/a", "/b"} {
		wantIn(t, prefix, placedLine(t, s, prefix), "placement=isolated", "interpreters=2",
			"gil=own", `why="every extension module it imports can run there"`)
	}
}

// Debian 12's NumPy 1.24 on 3.11: single-phase, which 3.11 imports in a sub-interpreter
// without a word (NumPy only warns); auto finds it and puts the app in %{GLOBAL}. forky's
// NumPy 2.4 (3.14, 3.15) declares it does not support sub-interpreters: refused, same place.
func TestAutoPlacementNumPy(t *testing.T) {
	needSystemPython(t, "NumPy (python3-numpy)")
	s := startServer(t, "--application-group", "auto", "--preload",
		"--mount", "/np=testdata/numpy_app.py", "--mount", "/pure=testdata/isolation.py")
	want := []string{"application_group=%{GLOBAL}", "placement=main"}
	if linked.Minor >= 14 {
		want = append(want, "numpy._core._multiarray_umath")
	} else {
		want = append(want, "numpy.core._multiarray_umath", "single-phase")
	}
	wantIn(t, "numpy_app.py", placedLine(t, s, "/np"), want...)
	wantIn(t, "isolation.py", placedLine(t, s, "/pure"), "placement=shared-gil", "gil=shared")
	if resp, body := s.get(t, "/np"); resp.StatusCode != 200 || !strings.Contains(string(body), "sum=45") {
		t.Errorf("/np: %d %s", resp.StatusCode, body)
	}
}

// A syntax error is no placement problem: the load fails, with the error, and is not retried
// one placement down.
func TestAutoPlacementSyntaxError(t *testing.T) {
	r := runPyhost(t, together, append([]string{"serve", "--application-group", "auto",
		"--preload", "--listen", "127.0.0.1:0", "testdata/syntax_error.py"}, asRoot()...)...)
	if r.Code == 0 || !strings.Contains(r.Out, "SyntaxError") ||
		!strings.Contains(r.Out, "could not load the WSGI application") {
		t.Errorf("a syntax error under auto: exit %d\n%s", r.Code, r.Out)
	}
	if strings.Contains(r.Out, "placement=") {
		t.Errorf("a syntax error was taken for a placement problem:\n%s", r.Out)
	}
}

// Every worker of --processes places the app the same way, and says so once.
func TestAutoPlacementProcesses(t *testing.T) {
	s := startServer(t, "--processes", "2", "--application-group", "auto", "--preload",
		"testdata/isolation.py")
	waitForLines(t, s, "--application-group auto", 2)
	if n := countLines(s.Log.String(), "placement=shared-gil"); n != 2 {
		t.Errorf("%d placement records for 2 workers, want 2:\n%s", n, s.Log)
	}
	if r := s.report(t, s.URL+"/"); r.Requests != 1 {
		t.Errorf("%+v", r)
	}
}

// The config file's application-group = "auto", in a group's table and on one mount: valid
// for check-config, and each mount gets a sub-interpreter group of its own.
func TestAutoPlacementConfigFile(t *testing.T) {
	path := groupsConfig(t, groupTable("web", `application-group = "auto"`)+
		mountTable("/a", "app.py", "web")+mountTable("/b", "app.py", "web", `application-group = "auto"`))
	if r := runPyhost(t, together, "check-config", path); r.Code != 0 || !strings.Contains(r.Out, "application group auto") {
		t.Fatalf("check-config: exit %d\n%s", r.Code, r.Out)
	}
	s := startServer(t, "--config", path, "--preload")
	var a, b groupFacts
	s.getJSON(t, "/a", &a)
	s.getJSON(t, "/b", &b)
	if !strings.HasSuffix(a.ApplicationGroup, "|/a") || !strings.HasSuffix(b.ApplicationGroup, "|/b") {
		t.Errorf("application groups: /a in %q, /b in %q; want one host:port|SCRIPT_NAME group each",
			a.ApplicationGroup, b.ApplicationGroup)
	}
	for _, prefix := range []string{"/a", "/b"} {
		wantIn(t, prefix, placedLine(t, s, prefix), "placement=shared-gil")
	}
}
