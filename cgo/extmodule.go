package cgo

import (
	"encoding/json"
	"fmt"
)

// What each extension module loaded in an interpreter declares about itself (extmodule.c reads
// its PyModuleDef), and what CPython then does with it in each place pyhost can run an app.

// Init is how an extension module initialises.
type Init string

// MultiPhase: PEP 489, a PyModuleDef with m_slots; CPython creates one module object per
// interpreter. SinglePhase: PyInit_ returned a finished module; its C state is one copy per
// process. NoDef: the module object carries no PyModuleDef (made by hand in PyInit_, or a
// 3.15 slots export), so nothing it declares can be read.
const (
	MultiPhase  Init = "multi-phase"
	SinglePhase Init = "single-phase"
	NoDef       Init = "no-def"
)

// Declared values of Py_mod_multiple_interpreters (3.12+) and Py_mod_gil (3.13+); "" when the
// module's def does not have the slot (or the Python has no such slot).
const (
	MultiInterpNotSupported = "not_supported"
	MultiInterpSupported    = "supported"
	MultiInterpPerGIL       = "per_interpreter_gil_supported"
	ModGILUsed              = "used"
	ModGILNotUsed           = "not_used"
)

// ExtModule is one extension module loaded in an interpreter.
type ExtModule struct {
	Name      string `json:"name"`
	File      string `json:"file"`
	Init      Init   `json:"init"`
	StateSize *int64 `json:"state_size"` // PyModuleDef.m_size; nil without a def
	// Copied: a single-phase module without a def of its own here: CPython made it from the
	// copy of the module dict the first import (in another interpreter) left.
	Copied      bool   `json:"copied,omitempty"`
	MultiInterp string `json:"multiple_interpreters"` // the declared slot value, "" absent
	GIL         string `json:"gil"`                   // the declared Py_mod_gil value, "" absent
}

// Place is where an app's modules are imported, as far as CPython's rules for extension
// modules care.
type Place struct {
	Sub    bool // a sub-interpreter (false: the main interpreter, %{GLOBAL})
	OwnGIL bool // the sub-interpreter has its own GIL (PEP 684): pyhost's --gil own and --gil free
	// Checked: PyInterpreterConfig.check_multi_interp_extensions is set (every pyhost
	// sub-interpreter on 3.12+ except the shared-GIL ones of a GIL build): single-phase and
	// not_supported modules are refused.
	Checked bool
	// GILOff: a free-threaded build running without the GIL, which a module that does not
	// declare Py_mod_gil not_used switches back on.
	GILOff bool
	// FreeBuild: a free-threaded CPython, whose every sub-interpreter is Checked.
	FreeBuild bool
	Python    uint32 // PY_VERSION_HEX
}

// PlaceFor is where an interpreter of mode runs on this build: in the main interpreter
// (sub false, application group %{GLOBAL}) or in a sub-interpreter pyhost creates for mode
// (subinterp.c's config).
func PlaceFor(mode GILMode, sub bool) Place {
	free := IsFreeThreadedBuild()
	p := Place{Sub: sub, FreeBuild: free, Python: VersionHex()}
	if sub {
		shared := mode == SharedGIL || mode == SharedGILChecked
		p.OwnGIL = !shared && VersionHex() >= 0x030C0000
		p.Checked = VersionHex() >= 0x030C0000 && (mode != SharedGIL || free)
	}
	p.GILOff = free && mode == FreeThreaded
	return p
}

// Severity of a verdict.
type Severity string

// Runs: CPython loads the module there and nothing is known against it. Warns: it loads, but
// the app may misbehave or lose what the mode is for (Why says which). Refused: CPython
// refuses to import it there, so the app cannot run there.
const (
	Runs    Severity = "runs"
	Warns   Severity = "warns"
	Refused Severity = "refused"
)

// Verdict is what happens to one module in one place.
type Verdict struct {
	Severity Severity `json:"verdict"`
	Why      string   `json:"why,omitempty"`
	Fix      string   `json:"fix,omitempty"`
}

// ExtensionModules lists the extension modules in the interpreter's sys.modules with what
// each declares. It runs on the runtime's main thread.
func (rt *Runtime) ExtensionModules(in *Interp) ([]ExtModule, error) {
	out, err := rt.callBootstrap(in, "extension_modules")
	if err != nil {
		return nil, err
	}
	var mods []ExtModule
	if err := json.Unmarshal([]byte(out), &mods); err != nil {
		return nil, fmt.Errorf("reading the extension modules' report: %w", err)
	}
	return mods, nil
}
