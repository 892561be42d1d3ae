package cgo

/*
#include <stdlib.h>
#include "pymodule.h"
*/
import "C"

import (
	_ "embed"
	"fmt"
	"unsafe"
)

// The `pyhost` module apps import (pymodule.c, pymodule.py): made in every interpreter when
// it is prepared, next to the private _pyhost.

//go:embed pymodule.py
var pymoduleSource string

func (p ProcessFacts) gilMode() string {
	if p.GILMode == "" {
		return "shared"
	}
	return p.GILMode
}

// setupModule makes the interpreter's pyhost module; its thread state is attached.
func setupModule(in *Interp, facts *C.pyh_process_facts) error {
	src := C.CString(pymoduleSource)
	defer C.free(unsafe.Pointer(src))
	var cerr *C.char
	if C.pyh_pymodule_setup(in.c, src, facts, &cerr) != 0 {
		return fmt.Errorf("making the pyhost module in interpreter %s: %s", in.Name,
			takeCString(cerr))
	}
	return nil
}

// NotifyStopping delivers the process_stopping event (reason: a word, "shutdown" or
// "recycle"; detail: what caused it) to the callbacks every interpreter's apps subscribed,
// on the runtime's main thread, and returns how many interpreters had any. Call it once no
// request runs any more, before Finalize. A callback that never returns holds it up: the
// caller bounds the wait, as it does for finalising.
func (rt *Runtime) NotifyStopping(reason, detail string) int {
	n := 0
	rt.do("while process_stopping callbacks ran", func() {
		r, d := C.CString(reason), C.CString(detail)
		defer C.free(unsafe.Pointer(r))
		defer C.free(unsafe.Pointer(d))
		for _, in := range rt.Interps() {
			if C.pyh_pymodule_subscribed(in.c) == 0 {
				continue // not even attached: its GIL may be the one a stuck thread holds
			}
			C.pyh_attach(in.c, nil)
			n += int(C.pyh_pymodule_stopping(in.c, r, d))
			C.pyh_detach()
		}
	})
	return n
}
