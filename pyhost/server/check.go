package server

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
)

// checkReport is what the bootstrap's check_app returns.
type checkReport struct {
	OK           bool            `json:"ok"`
	Error        string          `json:"error"`
	FailedModule string          `json:"failed_module"`
	GILEnabled   bool            `json:"gil_enabled"`
	GILEnabledBy []string        `json:"gil_enabled_by"`
	Extensions   []cgo.ExtModule `json:"extensions"`
}

// CheckOptions is what `pyhost check` imports an app with.
type CheckOptions struct {
	App        string   // as for serve: path/to/app.py or package.module:callable
	Callable   string   // the WSGI callable's name in a script
	PythonPath []string // prepended to sys.path
	Chdir      string   // the directory to change to before importing
	PythonHome string   // Python prefix or virtualenv
	GIL        gil.Mode
	Global     bool // import in the main interpreter (--application-group %{GLOBAL})
	JSON       bool // print the CheckResult as JSON instead of text
}

// Check is `pyhost check`: it imports the app in a throwaway interpreter of the GIL mode
// (own/shared: a sub-interpreter of that kind; free, or Global: the main interpreter) and
// reports on w, per extension module the app loaded, its init kind, what it declares and what
// CPython does with it there; when that interpreter refused a module, the app is imported
// again in the main interpreter to list every module it needs. ok is false when the app cannot
// run there. The caller checks first that this build has the mode (gil.Mode.Check). An error
// means the check itself could not run.
func Check(w io.Writer, opts CheckOptions) (ok bool, err error) {
	res, err := runCheck(opts)
	if err != nil {
		return false, err
	}
	if opts.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return res.OK, enc.Encode(res)
	}
	printCheck(w, res)
	return res.OK, nil
}

func runCheck(opts CheckOptions) (*CheckResult, error) {
	mode := opts.GIL
	rt, err := cgo.Initialize(cgo.Config{ProgramName: "pyhost", PythonHome: opts.PythonHome,
		EnableGIL: mode.EnableGIL()})
	if err != nil {
		return nil, err
	}
	defer rt.Finalize()
	kind := interpMode(mode)
	sub := mode != gil.Free && !opts.Global
	in := rt.Main()
	if sub {
		if in, err = rt.NewInterpreter(kind, "check"); err != nil {
			return nil, err
		}
	}
	spec := cgo.AppSpec{Target: opts.App, Callable: opts.Callable, PythonPath: opts.PythonPath,
		Chdir: opts.Chdir}
	target, err := importForCheck(rt, in, spec)
	if err != nil {
		return nil, err
	}
	// The target's import is the truth; only when it stopped (a module refused, or any other
	// error) does the main interpreter import the app too, after it, to list what the target
	// never reached. Importing there first would change what the target sees (a single-phase
	// module's first import is the one CPython copies).
	var inventory *checkReport
	if !target.OK && sub {
		if inventory, err = importForCheck(rt, rt.Main(), spec); err != nil {
			inventory = nil
		}
	}
	res := judge(opts, cgo.PlaceFor(kind, sub), target, inventory)
	if sub {
		markOneInterpreter(res, loadAgain(rt, target, inventory != nil))
	}
	return res, nil
}

func interpMode(mode gil.Mode) cgo.GILMode {
	switch mode {
	case gil.Own:
		return cgo.OwnGIL
	case gil.Free:
		return cgo.FreeThreaded
	}
	return cgo.SharedGIL
}

func importForCheck(rt *cgo.Runtime, in *cgo.Interp, spec cgo.AppSpec) (*checkReport, error) {
	if err := rt.Prepare(in, false, false); err != nil {
		return nil, err
	}
	out, err := rt.CheckApp(in, spec)
	if err != nil {
		return nil, err
	}
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	return &r, nil
}

// refusedModule is the module the interpreter refused, from the import's error.
func (r *checkReport) refusedModule() string {
	if m, ok := subinterp.UnsupportedModule(r.Error); ok {
		return m
	}
	return ""
}
