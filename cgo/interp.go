package cgo

/*
#include <stdlib.h>
#include "pyh.h"
*/
import "C"

import (
	"errors"
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

// Setup prepares the interpreter for serving (environ keys, types, bootstrap) and loads the
// app. It runs on the runtime's main thread, where the interpreter's owning thread state lives.
func (rt *Runtime) Setup(in *Interp, app AppSpec, multithread, multiprocess bool) error {
	var err error
	rt.Do(func() {
		var tsWait C.int64_t
		C.pyh_attach(in.c, &tsWait)
		defer C.pyh_detach()
		src := C.CString(bootstrapSource)
		defer C.free(unsafe.Pointer(src))
		var cerr *C.char
		if C.pyh_interp_setup(in.c, src, cBool(multithread), cBool(multiprocess), &cerr) != 0 {
			err = errors.New("setting up the interpreter: " + takeCString(cerr))
			return
		}
		target, callable := C.CString(app.Target), C.CString(app.Callable)
		paths, chdir := C.CString(strings.Join(app.PythonPath, "\n")), C.CString(app.Chdir)
		defer C.free(unsafe.Pointer(target))
		defer C.free(unsafe.Pointer(callable))
		defer C.free(unsafe.Pointer(paths))
		defer C.free(unsafe.Pointer(chdir))
		if C.pyh_interp_load_app(in.c, target, callable, paths, chdir, &cerr) != 0 {
			err = &PythonError{Traceback: takeCString(cerr)}
		}
	})
	return err
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
