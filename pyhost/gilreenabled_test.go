package pyhost_test

// Free-threaded builds in --gil free: an extension module without free-threading support
// switches the GIL back on. pyhost says which module did it, in which application group and
// (at runtime) in which request: in the log, in pyhost_gil_reenabled(_by), in /debug/threads
// and in `pyhost check`, whatever warnings filters the app set; and it says PYTHON_GIL=1 when
// the environment did it.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const gilOnRecord = "the GIL is on again"

// needFreeThreaded skips unless this is a free-threaded build. (Whether its CPython test
// modules have the modules testdata/gil_lazy.py loads, and whether those switch the GIL on,
// each test sees from the app's answer: it skips when they do not.)
func needFreeThreaded(t *testing.T) {
	t.Helper()
	if !linked.FreeThreaded {
		t.Skipf("needs a free-threaded build (3.13t); this run embeds Python %s with the GIL "+
			"(covered by the 3.13t run of make test)", linked.Version)
	}
}

// gilGroupState is one application group's entry in the "gil" part of /debug/threads.
type gilGroupState struct {
	ApplicationGroup string   `json:"application_group"`
	Enabled          bool     `json:"enabled"`
	EnabledBy        []string `json:"enabled_by"`
}

// gilGroups reads the "gil" part of /debug/threads of a one-process server, by group.
func gilGroups(t *testing.T, addr string) map[string]gilGroupState {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/threads")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := readAll(resp)
	var v struct {
		Processes []struct {
			GIL []gilGroupState `json:"gil"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Processes) != 1 {
		t.Fatalf("/debug/threads: %v\n%s", err, body)
	}
	out := map[string]gilGroupState{}
	for _, g := range v.Processes[0].GIL {
		out[g.ApplicationGroup] = g
	}
	return out
}

// TestGILReenabledInRequest: a module imported lazily inside a request (after the app
// loaded) switches the GIL back on: one log record names the module, the group, the
// interpreter and the request's path; the metrics and /debug/threads say so — also when the
// app set its warnings filter to "ignore" or "error" (CPython's RuntimeWarning then is
// hidden, or an ImportError, the GIL on all the same). Another group's interpreter keeps its
// GIL off. (No module of CPython's test modules switches the GIL on in a sub-interpreter:
// those that loads refuse own-GIL interpreters.)
func TestGILReenabledInRequest(t *testing.T) {
	needFreeThreaded(t)
	for _, filter := range []string{"default", "ignore", "error"} {
		t.Run(filter, func(t *testing.T) {
			s := startServer(t, "testdata/gil_lazy.py", "--gil", "free", "--metrics-listen", "127.0.0.1:0",
				"--mount", "/sub=testdata/gil_lazy.py,group=sub", "--preload")
			addr := metricsAddr(t, s)
			base := "http://" + addr
			if _, body := s.get(t, "/"); string(body) != "gil=False" {
				t.Fatalf("GET /: %q, want the GIL off before the import\n%s", body, s.Log)
			}
			if v := value(scrape(t, base), "pyhost_gil_reenabled", "application_group", "%{GLOBAL}"); v != 0 {
				t.Fatalf("pyhost_gil_reenabled = %v before the import, want 0", v)
			}
			if _, body := s.get(t, "/import?warnings="+filter); !strings.HasPrefix(string(body), "gil=True") {
				t.Skipf("_testsinglephase_check_cache_first left the GIL off in this build (%q)", body)
			}
			const mod = "_testsinglephase_check_cache_first"
			waitForLog(t, s, gilOnRecord)
			rec := lineWith(s.Log.String(), gilOnRecord)
			for _, want := range []string{"enabled_by=" + mod, "application_group=%{GLOBAL}",
				"interpreter=0", "path=/import", "request_id=", "PYTHON_GIL=0"} {
				if !strings.Contains(rec, want) {
					t.Errorf("the record lacks %q:\n%s", want, rec)
				}
			}
			waitValue(t, base, s.Log, 1, "pyhost_gil_reenabled_by", "application_group", "%{GLOBAL}", "module", mod)
			mfs := scrape(t, base)
			if v := value(mfs, "pyhost_gil_reenabled", "application_group", "%{GLOBAL}"); v != 1 {
				t.Errorf("pyhost_gil_reenabled of %%{GLOBAL} = %v after the import, want 1", v)
			}
			if v := value(mfs, "pyhost_gil_reenabled", "application_group", "sub"); v != 0 {
				t.Errorf("pyhost_gil_reenabled of sub = %v, want 0 (its interpreter has its own GIL)", v)
			}
			gs := gilGroups(t, addr)
			if g := gs["%{GLOBAL}"]; !g.Enabled || len(g.EnabledBy) != 1 || g.EnabledBy[0] != mod {
				t.Errorf("/debug/threads: %%{GLOBAL} %+v, want enabled by %s", g, mod)
			}
			if g, ok := gs["sub"]; !ok || g.Enabled {
				t.Errorf("/debug/threads: sub %+v (listed: %v), want listed with the GIL off", g, ok)
			}
			_, text := getThreads(t, addr, "format=text")
			if !strings.Contains(text, "application group %{GLOBAL}: GIL ON again, enabled by "+mod) {
				t.Errorf("the text form does not say it:\n%s", text)
			}
			// Once per interpreter: later requests add nothing.
			for range 3 {
				s.get(t, "/")
			}
			if n := countLines(s.Log.String(), gilOnRecord); n != 1 {
				t.Errorf("%d records, want 1:\n%s", n, s.Log)
			}
		})
	}
}

// TestGILReenabledByEnvironment: PYTHON_GIL=1 turns the GIL on from the start; pyhost says
// that, not an empty module list, at load and in `pyhost check`.
func TestGILReenabledByEnvironment(t *testing.T) {
	needFreeThreaded(t)
	t.Setenv("PYTHON_GIL", "1")
	s := startServer(t, "testdata/hello.py", "--gil", "free", "--metrics-listen", "127.0.0.1:0")
	waitForLog(t, s, gilOnRecord)
	if rec := lineWith(s.Log.String(), gilOnRecord); !strings.Contains(rec, `enabled_by="PYTHON_GIL=1"`) ||
		!strings.Contains(rec, "unset PYTHON_GIL") {
		t.Errorf("the record does not blame PYTHON_GIL=1:\n%s", rec)
	}
	base := "http://" + metricsAddr(t, s)
	waitValue(t, base, s.Log, 1, "pyhost_gil_reenabled_by", "application_group", "%{GLOBAL}", "module", "PYTHON_GIL=1")
	r := runPyhost(t, together, "check", "testdata/hello.py", "--gil", "free")
	if !strings.Contains(r.Out, "GIL re-enabled by: [PYTHON_GIL=1]") || !strings.Contains(r.Out, "unset PYTHON_GIL") {
		t.Errorf("check with PYTHON_GIL=1:\n%s", r.Out)
	}
}

// TestCheckGILReenabledWarningsIgnored: `pyhost check` names the module that switched the GIL
// on while the app had warnings ignored, and says what it means and what to do.
func TestCheckGILReenabledWarningsIgnored(t *testing.T) {
	needFreeThreaded(t)
	r := runPyhost(t, together, "check", "testdata/gil_at_import.py", "--gil", "free")
	if strings.Contains(r.Out, "GIL enabled after import: false") {
		t.Skipf("_testsinglephase_check_cache_first left the GIL off in this build:\n%s", r.Out)
	}
	for _, want := range []string{"GIL re-enabled by: [_testsinglephase_check_cache_first]",
		"what it means: an extension module that does not declare free-threading support",
		"what to do: use a version of the module that declares free-threading support",
		"PYTHON_GIL=0", "GIL enabled after import: true"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("check lacks %q:\n%s", want, r.Out)
		}
	}
}
