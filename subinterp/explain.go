package subinterp

import (
	"fmt"
	"regexp"
)

var notSubinterpSafe = regexp.MustCompile(`module ([\w.]+) does not support loading in subinterpreters`)

// UnsupportedModule finds, in an import failure's text, the extension module that cannot live
// in a sub-interpreter (single-phase init, or no Py_mod_multiple_interpreters support under a
// per-interpreter GIL).
func UnsupportedModule(text string) (module string, ok bool) {
	if m := notSubinterpSafe.FindStringSubmatch(text); m != nil {
		return m[1], true
	}
	return "", false
}

// Remedy is the advice for such a module in the named application group.
func Remedy(module, group string) string {
	return fmt.Sprintf("extension module %s does not support sub-interpreters, so the app "+
		"cannot run in application group %s: run it in the main interpreter "+
		"(--application-group %%{GLOBAL}) or use --gil shared", module, group)
}
