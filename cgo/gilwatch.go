package cgo

/*
#include "pyh.h"
*/
import "C"

import "strings"

// GILChange is what a request saw of its interpreter's GIL (Call.GILTurnedOn).
type GILChange int

const (
	// GILOff: nothing new (the GIL is off, or was found on before).
	GILOff GILChange = 0
	// GILOnDuring: off as the request began, on for good as it ended.
	GILOnDuring GILChange = 1
	// GILOnBefore: on already as the request began, and not noticed until then.
	GILOnBefore GILChange = 2
)

// WatchGIL makes every request look (one load) whether its interpreter's GIL has been
// switched back on, until it finds it so (Call.GILTurnedOn); call it before serving, for
// --gil free on a free-threaded build. Without it no request looks.
func WatchGIL() { C.pyh_gil_watching = 1 }

// NoticeGIL reports whether in's GIL is on for good and nobody has noticed that yet (it
// answers true once per interpreter, to it or to a request's GILTurnedOn). Free-threaded
// builds only: with the GIL built in, it is always on.
func (in *Interp) NoticeGIL() bool { return C.pyh_gil_notice(in.c) != 0 }

// GILReport says whether the GIL is on in the interpreter (always, except on a free-threaded
// build) and what switched it back on: the extension modules whose creation did (imports
// the app's warnings filters hide count too), or "PYTHON_GIL=1" when the environment did.
func (rt *Runtime) GILReport(in *Interp) (enabled bool, enabledBy []string) {
	out, err := rt.callBootstrap(in, "gil_report")
	if err != nil {
		return true, nil
	}
	flag, mods, _ := strings.Cut(out, "\t")
	if mods != "" {
		enabledBy = strings.Split(mods, "\x1f")
	}
	return flag == "1", enabledBy
}
