package cgo

/*
#include "pyh.h"
char *pyh_single_phase_modules(char **err);
*/
import "C"

import (
	"errors"
	"slices"
	"strings"
)

// SinglePhaseModules lists the extension modules loaded in the interpreter that use
// single-phase init (their C state is one copy for every interpreter that imports them).
func (rt *Runtime) SinglePhaseModules(in *Interp) ([]string, error) {
	var mods []string
	var err error
	rt.do("while listing the extension modules of "+in.Name, func() {
		C.pyh_attach(in.c, nil)
		defer C.pyh_detach()
		var cerr *C.char
		s := C.pyh_single_phase_modules(&cerr)
		if s == nil {
			err = errors.New(takeCString(cerr))
			return
		}
		if names := takeCString(s); names != "" {
			mods = strings.Split(names, ",")
		}
	})
	slices.Sort(mods)
	return mods, err
}

// EndInterpreter ends a sub-interpreter made by NewTrialInterpreter and not published, which
// never served a request (an app that could not load there, so --application-group auto
// tries a less isolated place). It reports false, keeping the interpreter for Finalize, when
// threads the app started still run in it.
func (rt *Runtime) EndInterpreter(in *Interp) bool {
	if in == rt.main {
		return false
	}
	ended := false
	rt.do("while ending application group "+in.Name, func() {
		if C.pyh_end_interp(in.c) != 0 {
			return
		}
		ended = true
		rt.subs = slices.DeleteFunc(rt.subs, func(x *Interp) bool { return x == in })
	})
	return ended
}
