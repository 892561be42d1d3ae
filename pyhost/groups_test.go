package pyhost_test

// Application groups and GIL modes against the real binary: isolation between groups, the
// group patterns, interpreter pools, parallel execution under own and free, refusals of modes
// the linked Python cannot run, and extensions that cannot live in sub-interpreters.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

type interpReport struct {
	Value      *string `json:"value"`
	SysMarker  *string `json:"sys_marker"`
	Interp     int64   `json:"interp"`
	Requests   int     `json:"requests"`
	ScriptName string  `json:"script_name"`
	PathInfo   string  `json:"path_info"`
	GIL        bool    `json:"gil"`
}

// report fetches url (one of the server's listeners and a path) and decodes
// testdata/isolation.py's answer.
func (s *server) report(t *testing.T, url string) interpReport {
	t.Helper()
	var r interpReport
	getJSONFrom(t, client, s.Log, url, &r)
	return r
}

func TestIsolation(t *testing.T) {
	for _, mode := range gilModes() {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t, "--gil", mode,
				"--mount", "/a=testdata/isolation.py,group=A",
				"--mount", "/b=testdata/isolation.py,group=B",
				"--mount", "/=testdata/isolation.py,group=%{GLOBAL}")
			a := s.report(t, s.URL+"/a/x?set=apple")
			if str(a.Value) != "apple" || a.ScriptName != "/a" || a.PathInfo != "/x" {
				t.Fatalf("group A: %+v", a)
			}
			if a2 := s.report(t, s.URL+"/a"); str(a2.Value) != "apple" || str(a2.SysMarker) != "apple" || a2.Interp != a.Interp {
				t.Errorf("group A forgot its global on the next request: %+v", a2)
			}
			b := s.report(t, s.URL+"/b")
			g := s.report(t, s.URL+"/")
			for name, r := range map[string]interpReport{"B": b, "%{GLOBAL}": g} {
				if r.Value != nil || r.SysMarker != nil {
					t.Errorf("group %s sees group A's global: %+v", name, r)
				}
				if r.Interp == a.Interp {
					t.Errorf("group %s runs in group A's interpreter", name)
				}
			}
			if b.Interp == g.Interp {
				t.Errorf("group B runs in the main interpreter")
			}
			s.report(t, s.URL+"/b?set=banana")
			if a3 := s.report(t, s.URL+"/a"); str(a3.Value) != "apple" {
				t.Errorf("group B's global leaked into A: %+v", a3)
			}
			if g2 := s.report(t, s.URL+"/"); g2.Value != nil {
				t.Errorf("a sub-interpreter's global leaked into %%{GLOBAL}: %+v", g2)
			}
		})
	}
}

func TestGroupPatterns(t *testing.T) {
	t.Run("%{SERVER} is one interpreter per listener", func(t *testing.T) {
		s := startServer(t, "testdata/isolation.py", "--application-group", "%{SERVER}",
			"--listen", "127.0.0.1:0")
		if len(s.URLs) != 2 {
			t.Fatalf("listeners: %v", s.URLs)
		}
		one, two := s.report(t, s.URLs[0]+"/?set=x"), s.report(t, s.URLs[1]+"/")
		if one.Interp == two.Interp || two.Value != nil {
			t.Errorf("two listeners share an interpreter under %%{SERVER}: %+v %+v", one, two)
		}
		if again := s.report(t, s.URLs[0]+"/"); again.Interp != one.Interp || str(again.Value) != "x" {
			t.Errorf("listener one changed interpreter: %+v", again)
		}
	})
	t.Run("%{RESOURCE} is one per mount; a named group is shared by its mounts", func(t *testing.T) {
		s := startServer(t, "--application-group", "%{RESOURCE}",
			"--mount", "/x=testdata/isolation.py", "--mount", "/y=testdata/isolation.py",
			"--mount", "/p=testdata/isolation.py,group=pair", "--mount", "/q=testdata/isolation.py,group=pair")
		x, y := s.report(t, s.URL+"/x?set=1"), s.report(t, s.URL+"/y")
		if x.Interp == y.Interp || y.Value != nil {
			t.Errorf("two mounts share an interpreter under %%{RESOURCE}: %+v %+v", x, y)
		}
		p, q := s.report(t, s.URL+"/p?set=shared"), s.report(t, s.URL+"/q")
		if p.Interp != q.Interp || str(q.Value) != "shared" {
			t.Errorf("two mounts of group 'pair' do not share module globals: %+v %+v", p, q)
		}
		if nf, _ := s.get(t, "/elsewhere"); nf.StatusCode != 404 {
			t.Errorf("unmounted path: %d, want 404", nf.StatusCode)
		}
	})
	t.Run("%{GLOBAL} is the default under shared", func(t *testing.T) {
		s := startServer(t, "testdata/isolation.py",
			"--mount", "/sub=testdata/isolation.py,group=sub")
		root, sub := s.report(t, s.URL+"/"), s.report(t, s.URL+"/sub")
		if root.Interp == sub.Interp {
			t.Errorf("the default group is not the main interpreter")
		}
		if !strings.Contains(s.Log.String(), "group=%{GLOBAL}") {
			t.Errorf("log does not name the default group:\n%s", s.Log)
		}
	})
}

// TestModeRefusals: a mode the linked Python cannot run is refused at start, with a message
// naming the linked version and how to rebuild.
func TestModeRefusals(t *testing.T) {
	type refusal struct {
		args []string
		want []string
	}
	var cases []refusal
	if linked.Minor < 12 {
		cases = append(cases, refusal{[]string{"--gil", "own"},
			[]string{"--gil own needs Python ≥ 3.12", linked.Version, "make PYTHON="}})
	}
	if linked.FreeThreaded {
		cases = append(cases, refusal{[]string{"--gil", "own"},
			[]string{"--gil own needs a CPython built with the GIL", "free-threaded", "make PYTHON="}})
	} else {
		cases = append(cases, refusal{[]string{"--gil", "free"},
			[]string{"--gil free needs a free-threaded CPython", linked.Version, "make PYTHON="}})
	}
	cases = append(cases,
		refusal{[]string{"--gil", "shared", "--interpreters", "2", "--application-group", "g"},
			[]string{"--interpreters 2 with --gil shared"}},
		refusal{[]string{"--gil", "bogus"}, []string{`want shared, own or free`}},
	)
	for _, mode := range gilModes()[1:] {
		cases = append(cases, refusal{[]string{"--gil", mode, "--interpreters", "2",
			"--application-group", "%{GLOBAL}"}, []string{"--interpreters 2 needs sub-interpreters", "%{GLOBAL}"}})
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := append([]string{"serve", "testdata/hello.py", "--listen", "127.0.0.1:0"}, c.args...)
			r := runPyhost(t, together, append(args, asRoot()...)...)
			if r.Code == 0 {
				t.Fatalf("accepted:\n%s", r.Out)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Out, w) {
					t.Errorf("message lacks %q:\n%s", w, r.Out)
				}
			}
		})
	}
}

// rendezvous sends two concurrent requests to testdata/rendezvous.py and reports whether
// they met (ran Python at the same time) and in which interpreters.
func rendezvous(t *testing.T, s *server, wait string) (met [2]bool, interps [2]int64, gil [2]bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "meet")
	writeFile(t, file, []byte{0, 0})
	var wg sync.WaitGroup
	for slot := 0; slot < 2; slot++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			_, body := s.get(t, fmt.Sprintf("/?slot=%d&wait=%s&file=%s", slot, wait, file))
			var r struct {
				Met    bool  `json:"met"`
				Interp int64 `json:"interp"`
				GIL    bool  `json:"gil"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				t.Errorf("slot %d: %v: %s", slot, err, body)
				return
			}
			met[slot], interps[slot], gil[slot] = r.Met, r.Interp, r.GIL
		}(slot)
	}
	wg.Wait()
	return
}

func TestParallelExecution(t *testing.T) {
	t.Run("shared: one GIL, the requests cannot meet", func(t *testing.T) {
		s := startServer(t, "testdata/rendezvous.py", "--threads", "2")
		if met, _, _ := rendezvous(t, s, "1"); met[0] || met[1] {
			t.Errorf("two requests ran Python at once on a shared GIL: %v", met)
		}
	})
	t.Run("own: two interpreters run at the same time", func(t *testing.T) {
		if linked.FreeThreaded || linked.Minor < 12 {
			t.Skipf("--gil own needs a GIL build ≥ 3.12 (this is %s); its refusal is TestModeRefusals", linked.Version)
		}
		s := startServer(t, "testdata/rendezvous.py", "--gil", "own", "--interpreters", "2", "--threads", "2")
		met, interps, _ := rendezvous(t, s, "20")
		if !met[0] || !met[1] {
			t.Errorf("own-GIL interpreters did not run in parallel: met=%v\n%s", met, s.Log)
		}
		if interps[0] == interps[1] {
			t.Errorf("least-busy dispatch put both requests in one interpreter")
		}
	})
	t.Run("free: two threads of one interpreter run at the same time", func(t *testing.T) {
		if !linked.FreeThreaded {
			t.Skipf("--gil free needs a free-threaded build (this is %s); its refusal is TestModeRefusals", linked.Version)
		}
		s := startServer(t, "testdata/rendezvous.py", "--gil", "free", "--threads", "2")
		met, interps, gil := rendezvous(t, s, "20")
		if !met[0] || !met[1] {
			t.Errorf("free-threaded requests did not run in parallel: met=%v\n%s", met, s.Log)
		}
		if interps[0] != interps[1] {
			t.Errorf("free mode used two interpreters")
		}
		if gil[0] || gil[1] {
			t.Errorf("sys._is_gil_enabled() is True inside the app")
		}
	})
}

func TestInterpreterPool(t *testing.T) {
	mode := ownOrFree(t, "a pool of interpreters (TestModeRefusals checks the refusal)")
	s := startServer(t, "testdata/isolation.py", "--gil", mode, "--interpreters", "3",
		"--application-group", "pool", "--preload")
	seen := map[int64]int{}
	for i := 0; i < 30; i++ {
		r := s.report(t, s.URL+"/")
		seen[r.Interp] = r.Requests
	}
	if len(seen) != 3 {
		t.Errorf("30 requests reached %d interpreters, want 3: %v", len(seen), seen)
	}
	if !strings.Contains(s.Log.String(), "interpreters=3") {
		t.Errorf("log does not say the group has 3 interpreters:\n%s", s.Log)
	}
}

func TestNumPyInGlobal(t *testing.T) {
	needSystemPython(t, "NumPy (python3-numpy)")
	s := startServer(t, "testdata/numpy_app.py")
	resp, body := s.get(t, "/")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "sum=45") {
		t.Errorf("NumPy in %%{GLOBAL}: %d %q\n%s", resp.StatusCode, body, s.Log)
	}
}

// hasSinglePhase reports whether CPython's _testsinglephase test module is importable.
func hasSinglePhase(t *testing.T) bool {
	// In %{GLOBAL}: a free-threaded build refuses single-phase modules in every sub-interpreter.
	r := runPyhost(t, together, "check", "testdata/singlephase.py", "--application-group", "%{GLOBAL}")
	return r.Code == 0 && strings.Contains(r.Out, "_testsinglephase")
}

func TestSinglePhaseExtension(t *testing.T) {
	if linked.FreeThreaded || linked.Minor < 12 {
		t.Skipf("own-GIL sub-interpreters need a GIL build ≥ 3.12; this is %s", linked.Version)
	}
	if !hasSinglePhase(t) {
		t.Skipf("Python %s was built without CPython's test modules (_testsinglephase); "+
			"scripts/build-python.sh builds them", linked.Version)
	}
	s := startServer(t, "--gil", "own",
		"--mount", "/single=testdata/singlephase.py,group=S",
		"--mount", "/=testdata/singlephase.py,group=%{GLOBAL}",
		"--mount", "/ok=testdata/isolation.py,group=OK")
	if resp, body := s.get(t, "/"); resp.StatusCode != 200 {
		t.Errorf("_testsinglephase in %%{GLOBAL}: %d %s", resp.StatusCode, body)
	}
	for i := 0; i < 2; i++ {
		if resp, _ := s.get(t, "/single"); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("app with a single-phase extension in an own-GIL group: %d, want 503 with Retry-After (a mount that failed to load)", resp.StatusCode)
		}
		if resp, _ := s.get(t, "/ok"); resp.StatusCode != 200 {
			t.Errorf("another group stopped serving: %d", resp.StatusCode)
		}
	}
	log := s.Log.String()
	for _, want := range []string{"module=_testsinglephase", "--application-group %{GLOBAL}", "--gil shared"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestCheckCommand(t *testing.T) {
	check := func(app, mode string) ran {
		return runPyhost(t, together, "check", app, "--gil", mode)
	}
	if r := check("testdata/hello.py", "shared"); r.Code != 0 || !strings.Contains(r.Out, "can run with --gil shared") {
		t.Errorf("check hello shared: exit %d\n%s", r.Code, r.Out)
	}
	// A plain missing module is an import failure, not a sub-interpreter problem.
	if r := check("testdata/broken_import.py", "shared"); r.Code != 1 ||
		!strings.Contains(r.Out, "FAILS  this_module_does_not_exist_anywhere") ||
		!strings.Contains(r.Out, "result: the app failed to import") ||
		strings.Contains(r.Out, "does not support sub-interpreters") {
		t.Errorf("check broken_import: exit %d\n%s", r.Code, r.Out)
	}
	switch {
	case linked.FreeThreaded:
		if r := check("testdata/hello.py", "free"); r.Code != 0 || !strings.Contains(r.Out, "GIL enabled after import: false") {
			t.Errorf("check hello free: exit %d\n%s", r.Code, r.Out)
		}
		// 3.13.5's _testsinglephase declares it needs no GIL; its _check_cache_first variant
		// (loaded by gil_at_import.py) does not, and switches the GIL back on.
		if hasSinglePhase(t) {
			r := check("testdata/gil_at_import.py", "free")
			if !strings.Contains(r.Out, "GIL re-enabled by: [_testsinglephase_check_cache_first]") ||
				!strings.Contains(r.Out, "GIL enabled after import: true") {
				t.Errorf("check does not report the module that re-enabled the GIL:\n%s", r.Out)
			}
			if r := check("testdata/singlephase.py", "free"); !strings.Contains(r.Out, "GIL enabled after import: false") {
				t.Errorf("check singlephase free: _testsinglephase keeps the GIL off on 3.13.5:\n%s", r.Out)
			}
		}
	case linked.Minor >= 12:
		if !hasSinglePhase(t) {
			t.Skipf("no _testsinglephase in Python %s", linked.Version)
		}
		if r := check("testdata/singlephase.py", "own"); r.Code != 1 || !strings.Contains(r.Out, "REFUSED  _testsinglephase") ||
			!strings.Contains(r.Out, "--application-group %{GLOBAL}") {
			t.Errorf("check singlephase own: exit %d\n%s", r.Code, r.Out)
		}
	default:
		if r := check("testdata/hello.py", "own"); r.Code != 1 || !strings.Contains(r.Out, "needs Python ≥ 3.12") {
			t.Errorf("check own on %s: exit %d\n%s", linked.Version, r.Code, r.Out)
		}
	}
}

func TestFreeModeReportsGILReenabled(t *testing.T) {
	if !linked.FreeThreaded {
		t.Skipf("needs a free-threaded build; this is %s", linked.Version)
	}
	if !hasSinglePhase(t) {
		t.Skipf("no _testsinglephase in Python %s", linked.Version)
	}
	// _testsinglephase itself declares it can run without the GIL (3.13.5); its
	// _check_cache_first variant, loaded from the same file by gil_at_import.py, does not.
	s := startServer(t, "testdata/gil_at_import.py", "--gil", "free", "--python-path", "testdata")
	if resp, _ := s.get(t, "/"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitForLog(t, s, "enabled_by=_testsinglephase_check_cache_first")
}
