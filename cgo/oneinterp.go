package cgo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Some extension modules load in one interpreter per process only, whatever their
// PyModuleDef declares: Cython < 3.1 modules (multi-phase, no Py_mod_multiple_interpreters
// slot) remember the first interpreter that creates them and refuse every other one ("Interpreter
// change detected"), NumPy 2 refuses a second exec ("cannot load module more than once per
// process"). Nothing pyhost can read says so: the only way to know is to load the module
// again in a second interpreter, which LoadAgain does (in a process that is thrown away
// after: pyhost check's, or the placement probe's).

// MayLoadOncePerProcess reports whether the module is worth loading again to find out: a
// multi-phase module that does not declare per-interpreter GIL support (those that do are
// made for many interpreters; single-phase modules have their own verdicts, and running their
// init again may crash).
func (m ExtModule) MayLoadOncePerProcess() bool {
	return m.Init == MultiPhase && m.MultiInterp != MultiInterpPerGIL && m.File != ""
}

// LoadAgain creates and runs again in interpreter in (outside its sys.modules) each of mods
// that may load once per process, and returns those that refused with a
// one-interpreter-per-process ImportError, by name, with the error's message. Any other
// failure of such a second load is no answer and is left out. It runs on the runtime's main
// thread.
func (rt *Runtime) LoadAgain(in *Interp, mods []ExtModule) (map[string]string, error) {
	var lines []string
	for _, m := range mods {
		if m.MayLoadOncePerProcess() {
			lines = append(lines, m.Name+"\t"+m.File)
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	out, err := rt.callBootstrap(in, "load_again", strings.Join(lines, "\n"), "", "", "")
	if err != nil {
		return nil, err
	}
	var refused map[string]string
	if err := json.Unmarshal([]byte(out), &refused); err != nil {
		return nil, fmt.Errorf("reading the second loads' report: %w", err)
	}
	return refused, nil
}
