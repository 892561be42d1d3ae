package cgo

import (
	"fmt"
	"strings"
)

// CPython's rules for an extension module in each place (Objects/moduleobject.c
// PyModule_FromDefAndSpec2 and Python/import.c, 3.12 to 3.15; checked against the real
// interpreters by pyhost's extmodule tests):
//   - single-phase: loads in the main interpreter and in a sub-interpreter that does not
//     check (3.11's, and pyhost's shared-GIL ones on a GIL build); refused where
//     check_multi_interp_extensions is set.
//   - multi-phase, Py_mod_multiple_interpreters not_supported: refused in a checking
//     sub-interpreter, loaded (against its word) in one that does not check.
//   - supported, or the slot absent (CPython's default is supported): refused in an own-GIL
//     sub-interpreter, loaded in a shared-GIL one.
//   - per_interpreter_gil_supported: loads anywhere.
//   - free-threaded build with the GIL off: a module whose Py_mod_gil is not not_used (absent
//     means used) switches the GIL back on when it is imported.

// Effective is the Py_mod_multiple_interpreters value CPython acts on, and whether the module
// declared it (an absent slot means supported for a multi-phase module on 3.12+). "" when the
// Python has no such slot or the module is not multi-phase.
func (m ExtModule) effectiveMultiInterp(python uint32) (value string, declared bool) {
	if m.Init != MultiPhase || python < 0x030C0000 {
		return "", false
	}
	if m.MultiInterp == "" {
		return MultiInterpSupported, false
	}
	return m.MultiInterp, true
}

// Declares describes what the module declares, for people: its init kind and slot values,
// saying which are CPython's defaults for an absent slot.
func (m ExtModule) Declares(python uint32) string {
	switch m.Init {
	case NoDef:
		return "no PyModuleDef (nothing declared that pyhost can read)"
	case SinglePhase:
		size := ""
		if m.StateSize != nil {
			size = fmt.Sprintf(" (m_size %d)", *m.StateSize)
		}
		if m.Copied {
			size = " (this interpreter's module is CPython's copy of the first import's: no " +
				"PyModuleDef of its own)"
		}
		return "single-phase init" + size
	}
	parts := []string{"multi-phase init"}
	if v, declared := m.effectiveMultiInterp(python); v != "" {
		parts = append(parts, "multiple_interpreters="+v+defaulted(declared))
	} else {
		parts = append(parts, "multiple_interpreters: no such slot before 3.12")
	}
	if python >= 0x030D0000 {
		if m.GIL == "" {
			parts = append(parts, "gil=used"+defaulted(false))
		} else {
			parts = append(parts, "gil="+m.GIL)
		}
	}
	return strings.Join(parts, ", ")
}

func defaulted(declared bool) string {
	if declared {
		return ""
	}
	return " (not declared: CPython's default)"
}

// In is what CPython does with the module in place p.
func (m ExtModule) In(p Place) Verdict {
	v := m.subInterpVerdict(p)
	if v.Severity == Refused || !p.GILOff {
		return v
	}
	if g := m.gilVerdict(); g.Severity != Runs {
		if v.Severity == Warns {
			g.Why = v.Why + "; and " + g.Why
			g.Fix = v.Fix + "; " + g.Fix
		}
		return g
	}
	return v
}

func (m ExtModule) subInterpVerdict(p Place) Verdict {
	if !p.Sub || m.Init == NoDef {
		return Verdict{Severity: Runs}
	}
	if m.Init == SinglePhase {
		if p.Checked {
			return Verdict{Refused, "single-phase init: CPython refuses it in " + checkingSub(p),
				p.fix(true)}
		}
		return Verdict{Warns, singlePhaseShared(m), mainFix}
	}
	value, declared := m.effectiveMultiInterp(p.Python)
	switch {
	case value == MultiInterpNotSupported && p.Checked:
		return Verdict{Refused, "declares Py_mod_multiple_interpreters not_supported: CPython " +
			"refuses it in " + checkingSub(p), p.fix(false)}
	case value == MultiInterpNotSupported:
		return Verdict{Warns, "declares Py_mod_multiple_interpreters not_supported, yet CPython " +
			"loads it here: pyhost's shared-GIL sub-interpreters are legacy ones that do not " +
			"check (check_multi_interp_extensions off); its authors say it breaks in a " +
			"sub-interpreter", mainFix}
	case value == MultiInterpSupported && p.OwnGIL:
		what := "declares Py_mod_multiple_interpreters supported"
		if !declared {
			what = "declares no Py_mod_multiple_interpreters, which CPython takes as supported"
		}
		return Verdict{Refused, what + " (sub-interpreters that share the main GIL only): " +
			"CPython refuses it in a sub-interpreter with its own GIL", "--gil shared " +
			"(shared-GIL sub-interpreters load it), or --application-group %{GLOBAL}"}
	}
	return Verdict{Severity: Runs}
}

func (m ExtModule) gilVerdict() Verdict {
	fix := "--gil shared, or a build of the module that declares free-threading support " +
		"(PYTHON_GIL=0 keeps the GIL off at your own risk)"
	switch {
	case m.Init == SinglePhase:
		return Verdict{Warns, "single-phase init: unless its PyInit_ calls " +
			"PyUnstable_Module_SetGIL, importing it switched the GIL back on", fix}
	case m.Init == MultiPhase && m.GIL != ModGILNotUsed:
		return Verdict{Warns, "does not declare Py_mod_gil not_used, so importing it " +
			"switched the GIL back on: requests take turns on it as on a GIL build", fix}
	}
	return Verdict{Severity: Runs}
}

// mainFix is the advice for a module that belongs in a main interpreter.
const mainFix = "run the app in a main interpreter: --application-group %{GLOBAL}, in this " +
	"process group, or in a process group of its own (a config file's [group.NAME]) when other " +
	"apps here need sub-interpreters"

func checkingSub(p Place) string {
	if p.FreeBuild {
		return "a sub-interpreter of a free-threaded build (each one checks for " +
			"multi-interpreter support)"
	}
	return "a sub-interpreter with its own GIL (which checks for multi-interpreter support)"
}

// fix is the advice for a module refused in a sub-interpreter; loadsInShared: CPython loads
// it in the shared-GIL sub-interpreters of a GIL build (with its state shared).
func (p Place) fix(loadsInShared bool) string {
	s := mainFix
	if loadsInShared && !p.FreeBuild {
		s += ", or use --gil shared (where it loads, with its state shared between " +
			"interpreters)"
	}
	return s
}

func singlePhaseShared(m ExtModule) string {
	s := "single-phase init in a sub-interpreter: its C state is one copy per process, " +
		"shared with the main interpreter and every other interpreter that imports it"
	if m.Copied || (m.StateSize != nil && *m.StateSize < 0) {
		s += " (CPython runs its PyInit_ once and copies that first module's dict into " +
			"each interpreter, so objects made in one interpreter are used in another)"
	} else if m.StateSize != nil {
		s += " (CPython runs its PyInit_ again in each interpreter, over the same C globals)"
	}
	return s + "; such modules are known to break there (NumPy warns so itself)"
}
