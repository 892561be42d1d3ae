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
	OK           bool     `json:"ok"`
	Error        string   `json:"error"`
	FailedModule string   `json:"failed_module"`
	GILEnabled   bool     `json:"gil_enabled"`
	GILEnabledBy []string `json:"gil_enabled_by"`
	Extensions   []struct {
		Name string `json:"name"`
		File string `json:"file"`
	} `json:"extensions"`
}

// CheckOptions is what `pyhost check` imports an app with.
type CheckOptions struct {
	App        string   // as for serve: path/to/app.py or package.module:callable
	Callable   string   // the WSGI callable's name in a script
	PythonPath []string // prepended to sys.path
	Chdir      string   // the directory to change to before importing
	PythonHome string   // Python prefix or virtualenv
	GIL        gil.Mode
}

// Check is `pyhost check`: it imports the app in a throwaway interpreter of the GIL mode
// (own/shared: a sub-interpreter of that kind; free: the free-threaded main interpreter),
// reports per extension module on w whether it loads there, and says whether the app can run
// in that mode. The caller checks first that this build has the mode (gil.Mode.Check). An
// error means the check itself could not run.
func Check(w io.Writer, opts CheckOptions) (ok bool, err error) {
	report, err := runCheck(opts)
	if err != nil {
		return false, err
	}
	printCheck(w, opts.App, opts.GIL, report)
	return report.OK, nil
}

func runCheck(opts CheckOptions) (*checkReport, error) {
	mode := opts.GIL
	rt, err := cgo.Initialize(cgo.Config{ProgramName: "pyhost", PythonHome: opts.PythonHome,
		EnableGIL: mode.EnableGIL()})
	if err != nil {
		return nil, err
	}
	defer rt.Finalize()
	in := rt.Main()
	if mode != gil.Free {
		kind := cgo.SharedGIL
		if mode == gil.Own {
			kind = cgo.OwnGIL
		}
		if in, err = rt.NewInterpreter(kind, "check"); err != nil {
			return nil, err
		}
	}
	if err := rt.Prepare(in, false, false); err != nil {
		return nil, err
	}
	out, err := rt.CheckApp(in, cgo.AppSpec{Target: opts.App, Callable: opts.Callable,
		PythonPath: opts.PythonPath, Chdir: opts.Chdir})
	if err != nil {
		return nil, err
	}
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	return &r, nil
}

func printCheck(w io.Writer, app string, mode gil.Mode, r *checkReport) {
	where := map[gil.Mode]string{gil.Shared: "a shared-GIL sub-interpreter",
		gil.Own:  "an own-GIL sub-interpreter (PEP 684)",
		gil.Free: "the main interpreter of a free-threaded build"}[mode]
	fmt.Fprintf(w, "pyhost check %s --gil %s: imported in %s, Python %s\n", app, mode, where,
		LinkedBuild().Version)
	for _, e := range r.Extensions {
		fmt.Fprintf(w, "  ok     %-30s %s\n", e.Name, e.File)
	}
	failed, unsupported := subinterp.UnsupportedModule(r.Error)
	if !unsupported {
		failed = r.FailedModule
	}
	if failed != "" {
		fmt.Fprintf(w, "  FAILS  %-30s %s\n", failed, r.Error)
	}
	if cgo.IsFreeThreadedBuild() {
		printGILCheck(w, mode, r.GILEnabled, r.GILEnabledBy)
	}
	switch {
	case r.OK:
		fmt.Fprintf(w, "result: the app can run with --gil %s\n", mode)
	case unsupported:
		fmt.Fprintf(w, "result: the app cannot run in a sub-interpreter of this mode because "+
			"%s does not support sub-interpreters: serve it with --application-group %%{GLOBAL} "+
			"or --gil shared\n", failed)
	default:
		fmt.Fprintf(w, "result: the app failed to import: %s\n", r.Error)
	}
}
