package pyhost_test

import (
	"strings"
	"testing"
)

// TestTopGILOnAgain: on a free-threaded build in --gil free, `pyhost top` marks the process
// group whose GIL an extension module switched back on, and names the module and the
// application group; before the import it marks nothing.
func TestTopGILOnAgain(t *testing.T) {
	needFreeThreaded(t)
	s := startServer(t, "testdata/gil_lazy.py", "--gil", "free", "--metrics-listen", "127.0.0.1:0")
	addr := metricsAddr(t, s)
	if _, body := s.get(t, "/"); string(body) != "gil=False" {
		t.Fatalf("GET /: %q, want the GIL off before the import\n%s", body, s.Log)
	}
	if frame := topOnce(t, addr); strings.Contains(frame, "GIL on again") {
		t.Errorf("a GIL marker before any module switched it on:\n%s", frame)
	}
	if _, body := s.get(t, "/import"); !strings.HasPrefix(string(body), "gil=True") {
		t.Skipf("_testsinglephase_check_cache_first left the GIL off in this build (%q)", body)
	}
	const mod = "_testsinglephase_check_cache_first"
	waitValue(t, "http://"+addr, s.Log, 1, "pyhost_gil_reenabled_by", "application_group", "%{GLOBAL}", "module", mod)
	frame := topOnce(t, addr)
	if want := "\n  GIL on again: " + mod + " (application group %{GLOBAL})\n"; !strings.Contains(frame, want) {
		t.Errorf("top lacks %q:\n%s", want, frame)
	}
}
