package subinterp

import (
	"fmt"
	"regexp"
)

// oneInterpreter matches the ImportError of an extension module that loads in one interpreter
// per process only (Cython < 3.1: "Interpreter change detected - this module can only be
// loaded into one interpreter per process."; NumPy 2: "cannot load module more than once per
// process"; PyO3: "PyO3 modules do not yet support subinterpreters"), with the module's name
// that pyhost's bootstrap adds to the message (the modules' own messages do not name them).
var oneInterpreter = regexp.MustCompile(`(?m)(?:Interpreter change detected|more than once per ` +
	`process|do not yet support subinterpreters)[^\n]*?(?: \[pyhost: raised by extension ` +
	`module ([\w.]+)\])?$`)

// UnnamedModule stands for a module a one-interpreter-per-process error does not name.
const UnnamedModule = "?"

// OneInterpreterModule finds, in an import failure's text, an extension module that refused
// to load because another interpreter of the process loaded it first, and the error's message.
func OneInterpreterModule(text string) (module, message string, ok bool) {
	loc := oneInterpreter.FindStringSubmatchIndex(text)
	if loc == nil {
		return "", "", false
	}
	module = UnnamedModule
	if loc[2] >= 0 {
		module = text[loc[2]:loc[3]]
	}
	start := loc[0]
	for start > 0 && text[start-1] != '\n' {
		start--
	}
	return module, text[start:loc[1]], true
}

// OneInterpreterWhy says what such a module means, for the log and pyhost check.
func OneInterpreterWhy(module string) string {
	return fmt.Sprintf("extension module %s loads in one interpreter per process: only the "+
		"first interpreter of a process that imports it can use it, and its import fails in "+
		"every other one; nothing CPython reads from the module says so (its rules would let "+
		"it into such an interpreter), so pyhost cannot know it from its declarations", module)
}

// OneInterpreterFix is the advice for such a module.
const OneInterpreterFix = "put every app that imports it in one interpreter: " +
	"--application-group %{GLOBAL} (--application-group auto puts them there), or one named " +
	"application group; or give each such app a process group of its own (a config file's " +
	"[group.NAME]); or use a newer build of the module (one made with Cython >= 3.1 declares " +
	"which interpreters it supports)"

// oneInterpreterReason is a Refusal's reason for such a module.
const oneInterpreterReason = "loads in one interpreter per process (only the first " +
	"interpreter that imports it can use it), so every app that imports it runs in %{GLOBAL}"

// OneInterpreterRefusal is the refusal of placement p for such a module: the app goes to
// the main interpreter, with every other app that imports it.
func OneInterpreterRefusal(p Placement, module string) *Refusal {
	return &Refusal{Placement: p, Module: module, Reason: oneInterpreterReason, MainOnly: true}
}
