package server

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
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

// check implements `pyhost check APP --gil MODE`: import the app in a throwaway interpreter
// of that mode (own/shared: a sub-interpreter of that kind; free: the free-threaded main
// interpreter) and report per extension module.
func check(args []string, stdout, stderr io.Writer) int {
	cfg := config.Config{Threads: 1, Interpreters: 1}
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := gil.Shared
	fs.Func("gil", "GIL mode to check: shared, own or free", func(v string) (err error) {
		mode, err = gil.ParseMode(v)
		return err
	})
	fs.StringVar(&cfg.Callable, "callable", "", "name of the WSGI callable in a script")
	fs.Var((*config.StringList)(&cfg.PythonPath), "python-path", "directory to prepend to sys.path")
	fs.StringVar(&cfg.Chdir, "chdir", "", "change to this directory before loading the app")
	fs.StringVar(&cfg.PythonHome, "python-home", "", "Python prefix or virtualenv")
	positional, err := config.ParseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "pyhost check: give one app, e.g. pyhost check app.py --gil own")
		return 2
	}
	if err := mode.Check(LinkedBuild()); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	report, err := runCheck(positional[0], mode, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "pyhost check:", err)
		return 1
	}
	printCheck(stdout, positional[0], mode, report)
	if !report.OK {
		return 1
	}
	return 0
}

func runCheck(app string, mode gil.Mode, cfg config.Config) (*checkReport, error) {
	rt, err := cgo.Initialize(cgo.Config{ProgramName: "pyhost", PythonHome: cfg.PythonHome,
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
	out, err := rt.CheckApp(in, cgo.AppSpec{Target: app, Callable: cfg.Callable,
		PythonPath: cfg.PythonPath, Chdir: cfg.Chdir})
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
		if len(r.GILEnabledBy) > 0 {
			fmt.Fprintf(w, "GIL re-enabled by: %v\n", r.GILEnabledBy)
		}
		fmt.Fprintf(w, "GIL enabled after import: %v\n", r.GILEnabled)
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
