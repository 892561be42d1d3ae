package cgo

/*
#include <stdlib.h>
#include "pyh.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Interp is one interpreter pyhost serves from: the main one or a sub-interpreter.
type Interp struct {
	c    *C.pyh_interp
	Name string // the application group it serves
}

// AppSpec says which WSGI callable to load and from where.
type AppSpec struct {
	Target     string   // path/to/app.py or package.module[:callable]
	Callable   string   // attribute name for a script target ("" = application)
	PythonPath []string // prepended to sys.path
	Chdir      string
}

// PythonError is an exception raised inside Python, with its formatted traceback.
type PythonError struct{ Traceback string }

func (e *PythonError) Error() string { return e.Traceback }

// Summary is the traceback's last line: the exception and its message.
func (e *PythonError) Summary() string {
	t := strings.TrimRight(e.Traceback, "\n")
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// GILMode is how an interpreter relates to the GIL (mirrors enum pyh_gil_mode).
type GILMode int

// SharedGIL: a legacy sub-interpreter on the main GIL. OwnGIL: PEP 684, its own GIL and
// allocator, multi-phase-init extensions only. FreeThreaded: PEP 703 build, no GIL;
// sub-interpreters get the isolated config. SharedGILChecked: SharedGIL refusing, as OwnGIL
// does, extensions without multi-interpreter support (≥ 3.12; SharedGIL before).
const (
	SharedGIL        GILMode = C.PYH_GIL_SHARED
	SharedGILChecked GILMode = C.PYH_GIL_SHARED_CHECKED
	OwnGIL           GILMode = C.PYH_GIL_OWN
	FreeThreaded     GILMode = C.PYH_GIL_FREE
)

// GILHeld reports whether the interpreter's GIL (the main one, unless it has its own) is held
// by any thread right now; a racy read, for gil.Gate.
func (in *Interp) GILHeld() bool { return C.pyh_gil_held(in.c.state) != 0 }

// NewInterpreter creates a sub-interpreter in the given mode for the application group name.
// It lives until Finalize.
func (rt *Runtime) NewInterpreter(mode GILMode, name string) (*Interp, error) {
	in, err := rt.NewTrialInterpreter(mode, name)
	if err == nil {
		rt.Publish(in)
	}
	return in, err
}

// NewTrialInterpreter is NewInterpreter for an interpreter that may be ended again
// (EndInterpreter) before it serves: Interps (the GIL probes) sees it only once Publish is
// called, so that no probe attaches to an interpreter while it ends.
func (rt *Runtime) NewTrialInterpreter(mode GILMode, name string) (*Interp, error) {
	var in *Interp
	var err error
	rt.do("while creating application group "+name, func() {
		var cerr *C.char
		c := C.pyh_new_interp(C.int(mode), &cerr)
		if c == nil {
			err = errors.New(takeCString(cerr))
			return
		}
		in = &Interp{c: c, Name: name}
		rt.subs = append(rt.subs, in)
	})
	return in, err
}

// Publish adds an interpreter made by NewTrialInterpreter to Interps.
func (rt *Runtime) Publish(in *Interp) {
	rt.listMu.Lock()
	rt.listed = append(rt.listed, in)
	rt.listMu.Unlock()
}

// Prepare readies the interpreter for serving: interned environ keys, pyhost's types and the
// bootstrap module. It runs on the runtime's main thread, where the interpreter's owning
// thread state lives. Call it once per interpreter.
func (rt *Runtime) Prepare(in *Interp, multithread, multiprocess bool) error {
	return rt.PrepareProcess(in, multithread, multiprocess, ProcessFacts{MaximumProcesses: 1,
		ThreadsPerProcess: 1})
}

// ProcessFacts are what every interpreter tells apps about the process it runs in, through
// the pyhost module (process_group, application_group, gil_mode, maximum_processes,
// threads_per_process; pymodule.go), the private _pyhost module and the environ
// (pyhost.process_group, pyhost.application_group).
type ProcessFacts struct {
	ProcessGroup      string // its name (config.ProcessGroupName: "default" for serve's command line)
	GILMode           string // "shared", "own" or "free" ("" is taken as shared)
	MaximumProcesses  int
	ThreadsPerProcess int
}

// PrepareProcess is Prepare telling the interpreter's apps the facts of their process.
func (rt *Runtime) PrepareProcess(in *Interp, multithread, multiprocess bool, p ProcessFacts) error {
	var err error
	rt.do("while setting up application group "+in.Name, func() {
		C.pyh_attach(in.c, nil)
		defer C.pyh_detach()
		src := C.CString(bootstrapSource)
		defer C.free(unsafe.Pointer(src))
		strs, free := cStrings(p.ProcessGroup, in.Name, p.gilMode())
		defer free()
		facts := C.pyh_process_facts{process_group: strs[0], application_group: strs[1],
			gil_mode:            strs[2],
			maximum_processes:   C.long(p.MaximumProcesses),
			threads_per_process: C.long(p.ThreadsPerProcess)}
		var cerr *C.char
		if C.pyh_interp_setup(in.c, src, cBool(multithread), cBool(multiprocess), &facts, &cerr) != 0 {
			err = fmt.Errorf("setting up interpreter %s: %s", in.Name, takeCString(cerr))
			return
		}
		err = setupModule(in, &facts)
	})
	return err
}

// LoadApp imports a WSGI app into the interpreter and returns its index for Serve. An
// exception raised by the import comes back as a *PythonError.
func (rt *Runtime) LoadApp(in *Interp, app AppSpec) (int, error) {
	var err error
	var idx C.int
	rt.do("while importing "+app.Target, func() {
		C.pyh_attach(in.c, nil)
		defer C.pyh_detach()
		a, free := cStrings(app.args()...)
		defer free()
		var cerr *C.char
		if idx = C.pyh_interp_load_app(in.c, a[0], a[1], a[2], a[3], &cerr); idx < 0 {
			err = &PythonError{Traceback: takeCString(cerr)}
		}
	})
	return int(idx), err
}

// args are the bootstrap's load_app / check_app arguments for the app.
func (app AppSpec) args() []string {
	return []string{app.Target, app.Callable, strings.Join(app.PythonPath, "\n"), app.Chdir}
}

// cStrings copies strings into C memory; free releases them.
func cStrings(ss ...string) ([]*C.char, func()) {
	cs := make([]*C.char, len(ss))
	for i, s := range ss {
		cs[i] = C.CString(s)
	}
	return cs, func() {
		for _, c := range cs {
			C.free(unsafe.Pointer(c))
		}
	}
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// callBootstrap calls a function of the interpreter's _pyhost module with no arguments or
// with exactly four str arguments, and returns str() of its result.
func (rt *Runtime) callBootstrap(in *Interp, fn string, args ...string) (string, error) {
	var out string
	var err error
	rt.do("while pyhost's "+fn+" ran", func() {
		C.pyh_attach(in.c, nil)
		defer C.pyh_detach()
		cfn := C.CString(fn)
		defer C.free(unsafe.Pointer(cfn))
		ca, free := cStrings(args...)
		defer free()
		ca = append(ca, nil, nil, nil, nil) // no arguments: a NULL first one says so
		var cerr *C.char
		res := C.pyh_bootstrap_call(in.c, cfn, ca[0], ca[1], ca[2], ca[3], &cerr)
		if res == nil {
			err = &PythonError{Traceback: takeCString(cerr)}
			return
		}
		out = takeCString(res)
	})
	return out, err
}

// CheckApp imports app in the interpreter and returns the bootstrap's JSON report.
func (rt *Runtime) CheckApp(in *Interp, app AppSpec) (string, error) {
	return rt.callBootstrap(in, "check_app", app.args()...)
}
