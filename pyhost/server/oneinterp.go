package server

import (
	"slices"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/subinterp"
)

// Extension modules that load in one interpreter per process (Cython < 3.1, NumPy 2; see
// cgo/oneinterp.go): nothing they declare says so, CPython's rules let them into any
// interpreter, and the second interpreter that imports one fails. The load failure explains
// it once (explainExtFailure); --application-group auto's probe loads each module the app
// imported a second time, in the probe's main interpreter, and sends an app with such a module
// to %{GLOBAL} (loadAgainInMain); pyhost check marks them (checkOneInterp).

// explainExtFailure explains an app's import failure caused by an extension module, for
// load's record: the module and the attributes saying why and what to do, the message's
// ending, and whether this is the first time it is explained for this group, app and module.
// ok is false when the failure is not one of these.
func (s *Server) explainExtFailure(group string, m config.Mount, traceback string) (
	attrs []any, what string, first, ok bool) {
	if mod, ok := subinterp.UnsupportedModule(traceback); ok {
		attrs, first = s.refusalAttrs(group, m, mod)
		return attrs, "an extension module it imports cannot run in its interpreter", first, true
	}
	mod, _, ok := subinterp.OneInterpreterModule(traceback)
	if !ok {
		return nil, "", false, false
	}
	attrs = []any{"module", mod, "why", subinterp.OneInterpreterWhy(mod) + "; here another " +
		"interpreter of this process imported it first", "fix", subinterp.OneInterpreterFix}
	first = s.extNotes.first("one-interp\x00" + group + "\x00" + m.App + "\x00" + mod)
	return attrs, "extension module " + mod + " loads in one interpreter per process", first, true
}

// loadAgainInMain is the placement probe's second look at an app that imported at placement
// p: each extension module it loaded there is loaded again in the probe's main interpreter;
// one that refuses (one interpreter per process) sends the app to the main interpreter.
func loadAgainInMain(rt *cgo.Runtime, app *subinterp.App, p subinterp.Placement) probeResult {
	ok := probeResult{OK: true}
	mods, err := rt.ExtensionModules(app.Group.Interps()[0])
	if err != nil || rt.Prepare(rt.Main(), false, false) != nil {
		return ok
	}
	refused, err := rt.LoadAgain(rt.Main(), mods)
	if err != nil || len(refused) == 0 {
		return ok
	}
	var names []string
	for name := range refused {
		names = append(names, name)
	}
	slices.Sort(names)
	r := subinterp.OneInterpreterRefusal(p, strings.Join(names, ","))
	return probeResult{Module: r.Module, Reason: r.Reason, MainOnly: true}
}

// loadAgain is pyhost check's second look at the modules the target interpreter loaded: each
// is loaded again in the main interpreter (prepared already when the inventory ran there).
// It returns those that refused, with their message.
func loadAgain(rt *cgo.Runtime, target *checkReport, mainPrepared bool) map[string]string {
	if !mainPrepared && rt.Prepare(rt.Main(), false, false) != nil {
		return nil
	}
	again, err := rt.LoadAgain(rt.Main(), target.Extensions)
	if err != nil {
		return nil
	}
	return again
}

// markOneInterpreter gives each module that loads in one interpreter per process a warning
// (at least) in sub-interpreters: here and in the places listed for it and for the app.
func markOneInterpreter(res *CheckResult, again map[string]string) {
	if len(again) == 0 {
		return
	}
	for i := range res.Modules {
		m := &res.Modules[i]
		msg, ok := again[m.Name]
		if !ok {
			continue
		}
		msg, _, _ = strings.Cut(msg, " [pyhost: raised by")
		m.OneInterpreter = true
		m.Declares += "; loads in one interpreter per process (found by loading it again)"
		why := subinterp.OneInterpreterWhy(m.Name) + "; loaded again in a second " +
			"interpreter of this check, it failed: ImportError: " + msg
		switch m.Severity {
		case cgo.Runs:
			m.Verdict = cgo.Verdict{Severity: cgo.Warns, Why: why, Fix: subinterp.OneInterpreterFix}
		default:
			m.Why += "; and " + why
			m.Fix += "; " + subinterp.OneInterpreterFix
		}
		for j, e := range m.Elsewhere {
			if strings.HasPrefix(e.Place, "sub-interpreter") && e.Verdict == cgo.Runs {
				m.Elsewhere[j].Verdict = cgo.Warns
			}
		}
	}
	if res.Elsewhere != nil {
		res.Elsewhere = worstPerPlace(res.Modules)
	}
}
