package pyhost_test

// How libpython is linked into the binary: a static link must export the whole C API.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaticBinaryExportsTheWholeCAPI: with libpython linked in (scripts/python-pc.sh), the
// binary must export every symbol the shared libpython exports. Extension modules are loaded
// after start-up and resolve their C-API calls against the binary's dynamic symbol table; a
// static link keeps only the archive members something refers to, so a function nothing in
// pyhost or libpython calls would be missing and the first module to call it would fail to
// import.
func TestStaticBinaryExportsTheWholeCAPI(t *testing.T) {
	r := runPyhost(t, together, "version")
	if r.Code != 0 {
		t.Fatalf("pyhost version: exit %d\n%s", r.Code, r.Out)
	}
	if !strings.Contains(r.Out, "libpython: static") {
		t.Skipf("this binary loads libpython as a shared library:\n%s", r.Out)
	}
	python := os.Getenv("PYHOST_TEST_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	so, err := exec.Command(python, "-c", "import os, sysconfig as s; "+
		"print(os.path.join(s.get_config_var('LIBDIR'), s.get_config_var('LDLIBRARY')))").Output()
	if err != nil {
		t.Fatalf("asking %s for its shared libpython: %v", python, err)
	}
	shared := strings.TrimSpace(string(so))
	if !strings.HasSuffix(shared, ".so") {
		t.Skipf("%s has no shared libpython to compare with (LDLIBRARY %s)", python, filepath.Base(shared))
	}
	want := exportedPythonSymbols(t, shared)
	have := exportedPythonSymbols(t, pyhostBin)
	if len(want) < 1000 {
		t.Fatalf("%s exports only %d Py symbols: nm's output was not understood", shared, len(want))
	}
	var missing []string
	for sym := range want {
		if !have[sym] {
			missing = append(missing, sym)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the binary lacks %d of the %d C-API symbols %s exports, so an extension "+
			"module calling one would fail to import: %s", len(missing), len(want), shared,
			strings.Join(missing, " "))
	}
}

// exportedPythonSymbols lists the Py*/_Py* symbols a binary or library defines in its dynamic
// symbol table.
func exportedPythonSymbols(t *testing.T, file string) map[string]bool {
	t.Helper()
	out, err := exec.Command("nm", "-D", "--defined-only", file).Output()
	if err != nil {
		t.Fatalf("nm -D %s: %v", file, err)
	}
	syms := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && (strings.HasPrefix(f[2], "Py") || strings.HasPrefix(f[2], "_Py")) {
			syms[f[2]] = true
		}
	}
	return syms
}
