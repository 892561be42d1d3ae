package subinterp

import (
	"fmt"
	"regexp"
)

var notSubinterpSafe = regexp.MustCompile(`module ([\w.]+) does not support loading in subinterpreters`)

// ExplainLoadFailure turns an import traceback into advice when the cause is an extension
// module that cannot live in a sub-interpreter (single-phase init, or no
// Py_mod_multiple_interpreters support under a per-interpreter GIL). "" when it is not that.
func ExplainLoadFailure(traceback, group string) string {
	m := notSubinterpSafe.FindStringSubmatch(traceback)
	if m == nil {
		return ""
	}
	return fmt.Sprintf("extension module %s does not support sub-interpreters, so the app "+
		"cannot run in application group %s: run it in the main interpreter "+
		"(--application-group %%{GLOBAL}) or use --gil shared", m[1], group)
}

// ModuleOf returns the module named in such a failure, or "".
func ModuleOf(traceback string) string {
	if m := notSubinterpSafe.FindStringSubmatch(traceback); m != nil {
		return m[1]
	}
	return ""
}
